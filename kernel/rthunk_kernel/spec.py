"""spec.py — the kernel spec `rthunk-kernel install` registers.

kernel.json runs this Python with `-m rthunk_kernel`, with PYTHONPATH set to
where this package is and GI_TYPELIB_PATH to where Rthunk-1.0.typelib was
found, so the kernel starts from any frontend's environment; --server and
--cluster given to install are passed on to the kernel.
"""

import json
import os
import sys
import tempfile

from rthunk_kernel import KERNEL_NAME


def kernel_argv(servers, cluster_file):
    argv = [sys.executable, "-m", "rthunk_kernel", "-f", "{connection_file}"]
    for address in servers or []:
        argv += ["--server", address]
    if cluster_file is not None:
        argv += ["--cluster", os.path.abspath(cluster_file)]
    return argv


def kernel_env():
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {"PYTHONPATH": package_parent}
    if os.environ.get("GI_TYPELIB_PATH"):
        env["GI_TYPELIB_PATH"] = os.environ["GI_TYPELIB_PATH"]
    return env


def kernel_json(servers, cluster_file):
    return {
        "argv": kernel_argv(servers, cluster_file),
        "display_name": "rthunk",
        "language": "rthunk",
        "interrupt_mode": "signal",
        "env": kernel_env(),
    }


def install(user=False, prefix=None, servers=None, cluster_file=None):
    """Registers the kernel spec through jupyter_client; returns where."""
    from jupyter_client.kernelspec import KernelSpecManager

    with tempfile.TemporaryDirectory() as directory:
        with open(os.path.join(directory, "kernel.json"), "w") as f:
            json.dump(kernel_json(servers, cluster_file), f, indent=2)
        return KernelSpecManager().install_kernel_spec(directory, KERNEL_NAME,
                                                       user=user, prefix=prefix)
