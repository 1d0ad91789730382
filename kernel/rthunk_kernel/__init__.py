"""rthunk_kernel — a Jupyter kernel for rthunk.

One Rthunk.Session per notebook (through GObject Introspection): each cell
is evaluated like a line of the rthunk shell; a pending value is displayed
at once and its display is updated in place when it arrives, and so are the
displays of the cells that read it.

kernel.py holds the kernel, servers.py how it finds servers, spec.py the
kernel spec `rthunk-kernel install` registers, main.py the command line.
"""

KERNEL_NAME = "rthunk"
