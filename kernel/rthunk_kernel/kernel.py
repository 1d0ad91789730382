"""kernel.py — a Jupyter kernel over one Rthunk.Session.

Each cell is evaluated like a line of the rthunk shell (Session.eval).
Every cell a notebook cell defines is shown as `NAME : TYPE = VALUE` in a
display with the display id of that name: when the session changes the
cell (a pending value arrived, an input was redefined) or fails it, every
display of it is updated in place (update_display_data). An expression's
value is the cell's result; a pending one is displayed at once and updated
when it arrives. Errors are shown as the shell shows them,
`<cell N>:LINE:COL: error: …`.

The session lives in the kernel's thread and delivers results through
GLib's default main context; the kernel iterates that context from a timer
of its own event loop, so arrivals are shown while no cell runs: every
ITERATE_MS while something is pending, every IDLE_ITERATE_MS otherwise (an
idle notebook costs next to no CPU).
"""

import uuid

import gi
gi.require_version("GLib", "2.0")
gi.require_version("Rthunk", "1.0")
from gi.repository import GLib, Rthunk  # noqa: E402

from ipykernel.kernelbase import Kernel  # noqa: E402

from rthunk_kernel import servers as found_servers  # noqa: E402

ITERATE_MS = 10            # how often the GLib main context is iterated while busy
IDLE_ITERATE_MS = 250      # and while nothing is pending
MAX_DISPATCH = 1000        # GLib sources dispatched per iteration at most
MAX_PRINTED = 2000         # characters of a value shown, as in the shell
WORD_BREAKS = " \t\n()[]{}\"';,"


def shown(text):
    """@text as the shell shows it: controls but newline and tab escaped,
    so a value from a server cannot drive the frontend's terminal codes."""
    out = []
    for c in text:
        code = ord(c)
        if code == 0x1b:
            out.append("\\e")
        elif (code < 0x20 and c not in "\n\t") or code == 0x7f:
            out.append("\\x%02x" % code)
        elif 0x80 <= code < 0xa0:
            out.append("\\u{%x}" % code)
        else:
            out.append(c)
    text = "".join(out)
    return text if len(text) <= MAX_PRINTED else text[:MAX_PRINTED] + "…"


def error_text(message):
    """An error as the shell prints it: `SOURCE:LINE:COL: error: …` as it
    is, anything else after `rthunk: error: `."""
    message = shown(message)
    return message if ": error: " in message else "rthunk: error: " + message


def ends_with_definition(text):
    """Whether the last form of @text is a def or defn."""
    try:
        forms = Rthunk.reader_read_all("<cell>", text, -1)
    except GLib.Error:
        return False
    if not forms:
        return False
    last = forms[-1]
    return (last.get_kind() == Rthunk.NodeKind.LIST and last.get_n_items() > 0 and
            (last.get_item(0).is_symbol("def") or last.get_item(0).is_symbol("defn")))


class RthunkKernel(Kernel):
    implementation = "rthunk"
    implementation_version = "0.1"
    language = "rthunk"
    language_version = "0.1"
    language_info = {
        "name": "rthunk",
        "mimetype": "text/x-rthunk",
        "file_extension": ".rth",
        "codemirror_mode": "clojure",
    }
    banner = "rthunk: typed remote thunks (a session per notebook)"

    # set by main.py from the command line
    servers = []
    cluster_file = None

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.rthunk = Rthunk.Session.new()
        self.display_prefix = "rthunk-%s-" % uuid.uuid4().hex
        self.displayed = {}        # cell name -> the parent of its last display
        self.defining = None       # names the running cell defines, else None
        self.timer = None
        self.waits = 0             # wait_async calls not finished
        self.startup_error = None
        self.rthunk.connect("cell-defined", self.on_cell_defined)
        self.rthunk.connect("cell-changed", self.on_cell_changed)
        self.rthunk.connect("cell-failed", self.on_cell_failed)
        try:
            found_servers.add_servers(self.rthunk, self.servers, self.cluster_file)
        except found_servers.ServerError as e:
            self.startup_error = str(e)

    # ---- GLib's main context in the kernel's event loop ----------------------

    def start(self):
        super().start()
        self.schedule()

    def busy(self):
        return self.waits > 0 or self.rthunk.get_outstanding() > 0 or bool(self.rthunk.get_pending())

    def schedule(self):
        """The next iteration: soon while something is pending."""
        if self.timer is not None:
            self.io_loop.remove_timeout(self.timer)
        delay_ms = ITERATE_MS if self.busy() else IDLE_ITERATE_MS
        self.timer = self.io_loop.call_later(delay_ms / 1000.0, self.tick)

    def tick(self):
        self.timer = None
        context = GLib.MainContext.default()
        for _ in range(MAX_DISPATCH):
            if not context.iteration(False):
                break
        self.schedule()

    # ---- sending ------------------------------------------------------------------

    def request_parent(self):
        return self.get_parent("shell") if hasattr(self, "get_parent") else self._parent_header

    def send_iopub(self, msg_type, content, parent):
        self.session.send(self.iopub_socket, msg_type, content, parent=parent,
                          ident=self._topic(msg_type))

    def send_display(self, msg_type, text, display_id, parent):
        self.send_iopub(msg_type, {"data": {"text/plain": text}, "metadata": {},
                                   "transient": {"display_id": display_id}}, parent)

    def send_stderr(self, text):
        self.send_iopub("stream", {"name": "stderr", "text": text + "\n"}, self.request_parent())

    # ---- the cells --------------------------------------------------------------------

    def cell_text(self, name):
        """`x : int = 42`, `x : int = <pending …>` or `x failed: …`."""
        error = self.rthunk.get_cell_error(name)
        if error is not None:
            return "%s failed: %s" % (name, shown(error.message))
        value = self.rthunk.lookup(name)
        type_ = self.rthunk.get_cell_type(name) or "?"
        printed = shown(value.to_string()) if value is not None else "?"
        return "%s : %s = %s" % (name, type_, printed)

    def cell_display_id(self, name):
        return self.display_prefix + "cell-" + name

    def show_cell(self, name):
        """A new display of cell @name in the running notebook cell."""
        parent = self.request_parent()
        self.displayed[name] = parent
        self.send_display("display_data", self.cell_text(name), self.cell_display_id(name), parent)

    def update_cell(self, name):
        """Every display of cell @name shows what it is now."""
        parent = self.displayed.get(name)
        if parent is None or (self.defining is not None and name in self.defining):
            return
        self.send_display("update_display_data", self.cell_text(name),
                          self.cell_display_id(name), parent)

    def on_cell_defined(self, session, name):
        if self.defining is not None and name not in self.defining:
            self.defining.append(name)

    def on_cell_changed(self, session, name, value):
        self.update_cell(name)

    def on_cell_failed(self, session, name, message):
        self.update_cell(name)

    # ---- an expression's value ------------------------------------------------------------

    def show_result(self, value):
        """The value of the cell's last expression: an execute_result, or a
        display updated when the pending value arrives."""
        if not value.is_pending():
            self.send_iopub("execute_result", {"execution_count": self.execution_count,
                                               "data": {"text/plain": shown(value.to_string())},
                                               "metadata": {}}, self.request_parent())
            return
        parent = self.request_parent()
        display_id = "%sout-%d" % (self.display_prefix, self.execution_count)
        self.send_display("display_data", shown(value.to_string()), display_id, parent)

        def arrived(session, result):
            self.waits -= 1
            try:
                text = shown(session.wait_finish(result).to_string())
            except GLib.Error as e:
                text = "=> failed: %s" % shown(e.message)
            self.send_display("update_display_data", text, display_id, parent)

        self.waits += 1
        self.rthunk.wait_async(value, None, arrived)

    # ---- the Jupyter protocol ----------------------------------------------------------

    def do_execute(self, code, silent, store_history=True, user_expressions=None,
                   allow_stdin=False, *, cell_id=None):
        try:
            return self.execute(code)
        finally:
            if getattr(self, "io_loop", None) is not None:
                self.schedule()

    def execute(self, code):
        if self.startup_error is not None:
            self.send_stderr(error_text(self.startup_error))
            self.startup_error = None
        if not code.strip():
            return self.reply_ok()
        self.defining = []
        try:
            value = self.rthunk.eval(code, "<cell %d>" % self.execution_count)
            error = None
        except GLib.Error as e:
            value, error = None, e
        finally:
            defined, self.defining = self.defining, None
        for name in defined:
            self.show_cell(name)
        if error is not None:
            return self.reply_error(error)
        if value is not None and not ends_with_definition(code):
            self.show_result(value)
        return self.reply_ok()

    def reply_ok(self):
        return {"status": "ok", "execution_count": self.execution_count,
                "payload": [], "user_expressions": {}}

    def reply_error(self, error):
        content = {"ename": Rthunk.Error(error.code).value_nick
                   if error.domain == GLib.quark_to_string(Rthunk.error_quark()) else error.domain,
                   "evalue": error_text(error.message),
                   "traceback": [error_text(error.message)]}
        self.send_iopub("error", content, self.request_parent())
        content.update({"status": "error", "execution_count": self.execution_count})
        return content

    def do_complete(self, code, cursor_pos):
        start = cursor_pos
        while start > 0 and code[start - 1] not in WORD_BREAKS:
            start -= 1
        prefix = code[start:cursor_pos]
        matches = list(self.rthunk.complete(prefix)) if prefix else []
        return {"status": "ok", "matches": matches, "cursor_start": start,
                "cursor_end": cursor_pos, "metadata": {}}

    def do_shutdown(self, restart):
        if self.timer is not None:
            self.io_loop.remove_timeout(self.timer)
            self.timer = None
        self.rthunk.close()
        return {"status": "ok", "restart": restart}
