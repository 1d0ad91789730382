#!/usr/bin/python3
"""rthunk --http and :dashboard end to end.

A real rthunkd; the real shell with --http 127.0.0.1:0 reading, on a pipe,
cells a (a slow remote delay), b (reads a) and c (settles at once); then
/api/session (its servers, the cells with their states, the edge b -> a,
the pending thunk, every field protocol.md lists), the token, /api/events,
and the page in headless Chromium (the cells drawn as a graph, the pending
ones highlighted; a screenshot kept at tests/shell-dashboard.png); then
:dashboard in the REPL on a pty. Every wait is bounded. Prints TAP.
"""

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

SRCDIR = os.environ["RTHUNK_TOP_SRCDIR"]
BUILDDIR = os.environ["RTHUNK_TOP_BUILDDIR"]
RTHUNK = os.environ["RTHUNK"]


def load(name):
    spec = importlib.util.spec_from_file_location(name.replace("-", "_"),
                                                  os.path.join(SRCDIR, "tests", name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


dash = load("test-dashboard")
repl_test = load("test-repl")
tap, get, wait_for, maps_of, TIMEOUT = dash.tap, dash.get, dash.wait_for, dash.maps_of, dash.TIMEOUT

FORMS = "(def a (remote (delay 600000 41)))\n(def b (+ a 1))\n(def c (+ 1 2))\n"


def documented(heading):
    """The fields of the table under the protocol.md heading."""
    with open(os.path.join(SRCDIR, "docs", "protocol.md")) as f:
        text = f.read()
    section = text.split(heading + "\n", 1)[1].split("\n#", 1)[0]
    return re.findall(r"^\| `([A-Za-z]+)` \|", section, re.M)


class Shell:
    """The real shell with --http 127.0.0.1:0, reading FORMS on a pipe."""

    def __init__(self, tmp, address):
        self.err_path = os.path.join(tmp, "shell.err")
        self.proc = subprocess.Popen([RTHUNK, "-s", address, "--http", "127.0.0.1:0"],
                                     stdin=subprocess.PIPE, stdout=open(os.path.join(tmp, "shell.out"), "w"),
                                     stderr=open(self.err_path, "w"), text=True)
        self.proc.stdin.write(FORMS)
        self.proc.stdin.close()
        line = wait_for(self._announced) or ""
        m = re.search(r"rthunk: dashboard on (http://127\.0\.0\.1:\d+/)\?token=([0-9a-f]+)", line)
        self.url, self.token = (m.group(1), m.group(2)) if m else (None, None)

    def _announced(self):
        with open(self.err_path) as f:
            text = f.read()
        return text if "dashboard on" in text else None

    def session(self):
        status, _, body = get(self.url + "api/session", token=self.token)
        return json.loads(body) if status == 200 else None

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def cells_of(doc):
    return {c["name"]: c for c in doc["cells"]}


def settled_c_pending_a(shell):
    """/api/session once c is done, a's delay runs on its server, and the
    server's load counts it and its latency was measured (by a ping)."""
    doc = shell.session()
    if doc is None:
        return None
    cells = cells_of(doc)
    measured = doc["servers"] and doc["servers"][0]["load"] >= 1 and doc["servers"][0]["latencyMs"] > 0
    ready = cells.get("c", {}).get("state") == "done" and doc["pending"] and measured
    return doc if ready else None


def check_api(shell, server, doc):
    cells = cells_of(doc)
    alpha = doc["servers"][0] if doc["servers"] else {}
    tap(len(doc["servers"]) == 1 and alpha["name"] == "alpha" and alpha["address"] == server.address and
        alpha["state"] == "up" and alpha["agreed"] == 0 and alpha["disagreed"] == 0 and alpha["load"] >= 1 and
        alpha["latencyMs"] > 0 and alpha["error"] is None and alpha["from"] == "flag",
        "/api/session lists the server with its state, reputation, load, latency and origin", doc["servers"])
    a, b, c = cells.get("a", {}), cells.get("b", {}), cells.get("c", {})
    tap(list(cells) == ["a", "b", "c"] and a["state"] == "settling" and a["pending"] and
        a["value"].startswith("<pending") and b["state"] == "waiting" and b["pending"] and
        c["state"] == "done" and not c["pending"] and c["value"] == "3" and c["error"] is None,
        "/api/session lists the cells in order with their states and values", doc["cells"])
    tap(b["reads"] == ["a"] and a["reads"] == [] and c["reads"] == [], "b reads a: the edge b -> a", doc["cells"])
    pending = doc["pending"]
    tap(len(pending) == 1 and pending[0]["cell"] == "a" and pending[0]["server"] == "alpha" and
        "@alpha" in pending[0]["label"] and pending[0]["elapsedMs"] >= 0,
        "the pending thunk is listed with its cell, label, server and elapsed time", pending)
    missing = []
    for heading, rows in (("servers", doc["servers"]), ("cells", doc["cells"]), ("pending", pending)):
        fields = documented("### `/api/session` `%s`" % heading)
        missing += [(heading, f) for row in rows for f in fields if f not in row]
        missing += [(heading, f) for row in rows for f in row if f not in fields]
    tap(not missing, "every object has the fields protocol.md lists, and no other", missing)


def check_token(shell):
    codes = [get(shell.url + path)[0] for path in ("", "api/session", "api/events")]
    codes.append(get(shell.url + "api/session", token="0" * 32)[0])
    codes.append(get(shell.url + "api/session", bearer=shell.token)[0])
    tap(codes == [401, 401, 401, 401, 200], "without its token the page answers 401; with it, 200", codes)


def check_events(shell):
    request = urllib.request.Request(shell.url + "api/events?token=" + shell.token)
    events, data = [], None
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        ctype = response.headers.get("Content-Type")
        deadline = time.monotonic() + TIMEOUT
        while len(events) < 2 and time.monotonic() < deadline:
            line = response.readline().decode()
            if line.startswith("event: "):
                events.append(line[7:].strip())
            elif line.startswith("data: "):
                data = json.loads(line[6:])
    tap(ctype.startswith("text/event-stream") and events == ["session", "session"] and
        data is not None and [c["name"] for c in data["cells"]] == ["a", "b", "c"],
        "/api/events streams the session, again after the first", ctype, events)


# The DOM once the page's JavaScript has drawn the graph, live.
SHOWN = """(document.querySelector('#graph g.cell.pending[data-name="a"]') &&
           document.querySelector('#graph line.edge[data-from="b"][data-to="a"]') &&
           document.querySelector('#pending tr.thunk') &&
           document.getElementById('conn').textContent === 'live')
          ? document.documentElement.outerHTML : ''"""


def check_page(shell, tmp):
    status, ctype, body = get(shell.url, token=shell.token)
    tap(status == 200 and ctype.startswith("text/html") and "EventSource" in body and
        not re.search(r"""(src|href)=["']?(https?:)?//""", body),
        "/ is one HTML page with no external assets", status, ctype)
    browser = dash.Chromium(tmp)
    if not tap(browser.proc is not None, "chromium is installed (Debian package chromium)"):
        return
    try:
        browser.open(shell.url + "?token=" + shell.token, 1000, 700)
        dom = wait_for(lambda: browser.evaluate(SHOWN)) or ""
        nodes = re.findall(r'<g class="cell ([a-z ]+)" data-name="([a-c])"', dom)
        rows = re.findall(r'<tr class="cell ([a-z ]+)"><td>([a-c])</td>', dom)
        thunks = re.findall(r'<tr class="thunk running"><td>a</td><td>[^<]*@alpha</td><td>alpha</td>', dom)
        tap(sorted(nodes, key=lambda n: n[1]) == [("settling pending", "a"), ("waiting pending", "b"), ("done", "c")]
            and sorted(rows, key=lambda r: r[1]) == [("settling pending", "a"), ("waiting pending", "b"),
                                                    ("done", "c")] and len(thunks) == 1,
            "headless Chromium shows the cells as a graph with b -> a, the pending ones highlighted, and the "
            "pending thunk", nodes, rows, dom[:3000])
        shot = os.path.join(BUILDDIR, "tests", "shell-dashboard.png")
        browser.screenshot(shot)
        tap(os.path.getsize(shot) > 5000, "a screenshot is kept at tests/shell-dashboard.png", os.path.getsize(shot))
    except RuntimeError as error:
        tap(False, "chromium's DevTools protocol answers", error,
            open(os.path.join(tmp, "chromium.err")).read()[-2000:])
    finally:
        browser.close()


def check_repl(tmp):
    repl = repl_test.Repl(tmp, ["--local"])
    try:
        tap(repl.expect(r"rthunk> ") is not None, "the REPL's prompt appears", repl.text()[-2000:])
        tap("libsoup" not in maps_of(repl.pid), "the REPL has not loaded libsoup before :dashboard")
        repl.send("(def x (+ 1 2))\r")
        repl.send(":dashboard\r")
        m = repl.expect(r"dashboard: (http://127\.0\.0\.1:\d+/)\?token=([0-9a-f]+)")
        if not tap(m is not None, ":dashboard prints a URL with its token", repl.text()[-2000:]):
            return
        maps = maps_of(repl.pid)
        tap("libsoup-3.0.so" in maps and "rthunk-http-soup.so" in maps,
            ":dashboard has loaded the HTTP module and libsoup")
        status, _, body = get(m.group(1) + "api/session", token=m.group(2))
        cells = json.loads(body)["cells"] if status == 200 else []
        page = get(m.group(1), token=m.group(2))
        tap([(c["name"], c["state"], c["value"]) for c in cells] == [("x", "done", "3")] and page[0] == 200,
            "the URL :dashboard printed answers, with the REPL's cell", status, cells)
        repl.send(":dashboard\r")
        again = repl.expect(r"dashboard: (http://\S+)")
        tap(again is not None and again.group(1) == m.group(0)[len("dashboard: "):],
            "a second :dashboard prints the same URL", repl.text()[-2000:])
    finally:
        repl.close()


def check_shell(shell, server, tmp):
    if not tap(shell.url is not None, "rthunk --http 127.0.0.1:0 prints its URL on stderr",
               open(shell.err_path).read()):
        return
    doc = wait_for(lambda: settled_c_pending_a(shell))
    if tap(doc is not None, "/api/session shows c done, a's thunk pending and the server's load and latency",
           shell.session()):
        check_api(shell, server, doc)
        check_token(shell)
        check_events(shell)
        check_page(shell, tmp)


def main():
    tmp = tempfile.mkdtemp(prefix="rthunk-shell-dashboard.")
    server = dash.Server("alpha", tmp)
    shell = None
    try:
        if tap(server.address is not None, "rthunkd starts", open(server.err_path).read()):
            shell = Shell(tmp, server.address)
            check_shell(shell, server, tmp)
        check_repl(tmp)
    finally:
        if shell is not None:
            shell.stop()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("1..%d" % len(dash.results))
    return 0 if all(dash.results) else 1


if __name__ == "__main__":
    sys.exit(main())
