#!/usr/bin/python3
"""rthunkd --http against real clients: /metrics, /api, the token, the page.

Starts two real rthunkd on loopback ports (one with --token-file), submits
thunks with the real shell (one that runs for a while: `delay`), then
parses /metrics with prometheus_client's text parser and compares it with
getServerInfo (tests/server-info), checks /api/status and /api/thunks
against the fields docs/protocol.md lists, reads /api/events, and loads
the page in headless Chromium, whose DOM must show the running thunk; the
screenshot stays in the build tree (tests/dashboard.png). Waits are
bounded loops on something observable, never bare sleeps. Prints TAP.
"""

import base64
import http.client
import json
import os
import re
import select
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

RTHUNKD = os.environ["RTHUNKD"]
RTHUNK = os.environ["RTHUNK"]
SERVER_INFO = os.environ["SERVER_INFO"]
SRCDIR = os.environ["RTHUNK_TOP_SRCDIR"]
BUILDDIR = os.environ["RTHUNK_TOP_BUILDDIR"]
TIMEOUT = 60.0

results = []


def tap(ok, name, *diag):
    results.append(ok)
    print("%s %d - %s" % ("ok" if ok else "not ok", len(results), name))
    for line in diag:
        for part in str(line).splitlines():
            print("# " + part)
    sys.stdout.flush()
    return ok


def wait_for(what, timeout=TIMEOUT):
    """what() until it is true, for at most timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(0.05)
    return None


class Server:
    """A real rthunkd with --http on free loopback ports."""

    def __init__(self, name, tmp, *args):
        self.out_path = os.path.join(tmp, name + ".out")
        self.err_path = os.path.join(tmp, name + ".err")
        self.proc = subprocess.Popen(
            [RTHUNKD, "--port", "0", "--name", name, "--http", "127.0.0.1:0", *args],
            stdout=open(self.out_path, "w"), stderr=open(self.err_path, "w"))
        out = wait_for(self._announced) or ""
        port = re.search(r"listening on 127\.0\.0\.1:(\d+)", out)
        url = re.search(r"http on (https?://127\.0\.0\.1:\d+/)", out)
        self.address = "127.0.0.1:%s" % port.group(1) if port else None
        self.url = url.group(1) if url else None

    def _announced(self):
        with open(self.out_path) as f:
            text = f.read()
        return text if "http on" in text else None

    def stop(self):
        self.proc.terminate()
        try:
            return self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def get(url, token=None, bearer=None, context=None):
    """(status, content type, body) of a GET."""
    if token is not None:
        url += ("&" if "?" in url else "?") + "token=" + token
    request = urllib.request.Request(url)
    if bearer is not None:
        request.add_header("Authorization", "Bearer " + bearer)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT, context=context) as response:
            return response.status, response.headers.get("Content-Type"), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type"), error.read().decode()


def server_info(address, *keys):
    out = subprocess.run([SERVER_INFO, address, *keys], capture_output=True, text=True, timeout=TIMEOUT)
    return [int(x) for x in out.stdout.split()] if out.returncode == 0 else None


def shell(address, expr, **kwargs):
    return subprocess.Popen([RTHUNK, "-s", address, "-e", expr], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def documented_fields(heading):
    """The `field` names of the table under the protocol.md heading."""
    with open(os.path.join(SRCDIR, "docs", "protocol.md")) as f:
        text = f.read()
    section = text.split(heading, 1)[1].split("\n#", 1)[0]
    return re.findall(r"^\| `([A-Za-z.]+)` \|", section, re.M)


def lookup(obj, dotted):
    for part in dotted.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return KeyError
        obj = obj[part]
    return obj


def running_delay(url):
    status, _, body = get(url + "api/thunks")
    if status != 200:
        return None
    thunks = json.loads(body)
    return thunks if any(t["function"] == "delay" for t in thunks["running"]) else None


def queued_delay(url):
    thunks = running_delay(url)
    return thunks if thunks and any(t["function"] == "delay" for t in thunks["queued"]) else None


def check_metrics(server):
    status, ctype, body = get(server.url + "metrics")
    tap(status == 200 and ctype.startswith("text/plain"), "/metrics answers 200 text/plain", status, ctype)
    families = {f.name: f for f in text_string_to_metric_families(body)}
    values = {}
    for family in families.values():
        for sample in family.samples:
            if not sample.labels:
                values[sample.name] = sample.value
    keys = ["submitted", "completed", "failed", "cancelled", "cache-hits", "cache-hits-shared", "definitions-loaded",
            "batches", "memo-hits", "definitions-stored", "running", "queued", "workers"]
    names = ["rthunk_thunks_submitted_total", "rthunk_thunks_completed_total", "rthunk_thunks_failed_total",
             "rthunk_thunks_cancelled_total", "rthunk_cache_hits_total", "rthunk_cache_hits_shared_total",
             "rthunk_definitions_loaded_total", "rthunk_batches_total",
             "rthunk_memo_hits_total", "rthunk_definitions", "rthunk_thunks_running", "rthunk_thunks_queued",
             "rthunk_workers"]
    info = server_info(server.address, *keys)
    got = [values.get(n) for n in names]
    tap(info is not None and got == info,
        "/metrics, parsed by prometheus_client, equals getServerInfo", list(zip(names, got, info or [])))
    types = {n: families[n[:-6] if n.endswith("_total") else n].type for n in names if
             (n[:-6] if n.endswith("_total") else n) in families}
    tap(types.get("rthunk_thunks_submitted_total") == "counter" and types.get("rthunk_thunks_running") == "gauge",
        "counters are counters, gauges gauges", types)
    hist = families.get("rthunk_thunk_duration_seconds")
    buckets = [(s.labels["le"], s.value) for s in hist.samples if s.name.endswith("_bucket")] if hist else []
    cumulative = [v for _, v in buckets]
    count = [s.value for s in hist.samples if s.name.endswith("_count")] if hist else []
    tap(hist is not None and hist.type == "histogram" and len(buckets) >= 10 and buckets[-1][0] == "+Inf" and
        cumulative == sorted(cumulative) and count == [cumulative[-1]] and count[0] >= 3,
        "rthunk_thunk_duration_seconds is a histogram with buckets counting the finished thunks", buckets, count)
    tap(values.get("rthunk_memory_budget_bytes", 0) > 0 and values.get("rthunk_connections", 0) >= 1 and
        values.get("rthunk_workers_busy") == values.get("rthunk_thunks_running"),
        "memory, budget, connections and busy workers are published", values)


def check_api(server, thunks):
    status, ctype, body = get(server.url + "api/status")
    doc = json.loads(body) if status == 200 else {}
    fields = documented_fields("### `/api/status`")
    missing = [f for f in fields if lookup(doc, f) is KeyError]
    tap(status == 200 and ctype.startswith("application/json") and len(fields) > 20 and not missing,
        "/api/status has every field protocol.md lists", status, missing)
    info = server_info(server.address, "submitted", "completed")
    tap(info == [doc["counters"]["submitted"], doc["counters"]["completed"]] and
        len(doc["latency"]["counts"]) == len(doc["latency"]["boundsUs"]) + 1 and
        doc["latency"]["count"] == sum(doc["latency"]["counts"]),
        "/api/status's counters equal getServerInfo's; its histogram adds up", info, doc.get("latency"))
    fields = documented_fields("### `/api/thunks`")
    delay = [t for t in thunks["running"] if t["function"] == "delay"]
    plus = [t for t in thunks["recent"] if t["function"] == "+"]
    every = thunks["running"] + thunks["queued"] + thunks["recent"]
    missing = [f for t in every for f in fields if f not in t]
    tap(len(fields) == 8 and every and not missing, "every thunk of /api/thunks has the fields protocol.md lists",
        missing)
    tap(len(delay) == 1 and re.fullmatch(r"[0-9a-f]{32}", delay[0]["id"]) and
        re.fullmatch(r"127\.0\.0\.1:\d+", delay[0]["client"]) and delay[0]["state"] == "running" and
        delay[0]["startedAgoMs"] is not None and delay[0]["finishedAgoMs"] is None,
        "the running delay thunk is listed with its id, function, client and state", delay)
    tap(len(plus) >= 3 and all(t["state"] == "done" and t["finishedAgoMs"] is not None for t in plus),
        "the finished (+ …) thunks are listed as recent and done", plus)
    queued = thunks["queued"]
    tap(len(queued) == 1 and queued[0]["state"] == "queued" and queued[0]["startedAgoMs"] is None and
        queued[0]["client"] != delay[0]["client"] and queued[0]["id"] != delay[0]["id"],
        "the queued delay thunk is listed, not started, with its own client", queued)


def check_events(server):
    request = urllib.request.Request(server.url + "api/events")
    events = []
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        ctype = response.headers.get("Content-Type")
        deadline = time.monotonic() + TIMEOUT
        while len(events) < 4 and time.monotonic() < deadline:
            line = response.readline().decode()
            if line.startswith("event: "):
                events.append(line[7:].strip())
    tap(ctype.startswith("text/event-stream") and events[:4] == ["status", "thunks", "status", "thunks"],
        "/api/events streams status and thunks, again after the first", ctype, events)


def check_token(tmp):
    token_file = os.path.join(tmp, "token")
    with open(token_file, "w") as f:
        f.write("s3cret-dashboard\n")
    server = Server("guarded", tmp, "--token-file", token_file)
    try:
        codes = [get(server.url + path)[0] for path in ("", "metrics", "api/status", "api/thunks", "api/events")]
        tap(codes == [401] * 5, "without the token every path answers 401", codes)
        codes = [get(server.url + "metrics", bearer="wrong")[0], get(server.url + "metrics", token="wrong")[0]]
        tap(codes == [401, 401], "a wrong token gets 401", codes)
        codes = [get(server.url + "metrics", bearer="s3cret-dashboard")[0],
                 get(server.url + "api/status", token="s3cret-dashboard")[0]]
        tap(codes == [200, 200], "the token as a Bearer header or ?token= opens them", codes)
    finally:
        server.stop()
    with open(server.err_path) as f:
        log = f.read()
    refused = re.findall(r"HTTP request from 127\.0\.0\.1 refused: this server needs a valid token", log)
    tap(len(refused) == 7, "each refused HTTP request is logged with its client and reason", log[-2000:])


def check_tls(tmp):
    certs = os.path.join(tmp, "certs")
    made = subprocess.run(["sh", os.path.join(SRCDIR, "tests", "make-tls-certs.sh"), certs],
                          capture_output=True, text=True, timeout=TIMEOUT)
    if not tap(made.returncode == 0, "tests/make-tls-certs.sh makes the test certificates", made.stderr):
        return
    server = Server("tls", tmp, "--tls-cert", os.path.join(certs, "server.pem"),
                    "--tls-key", os.path.join(certs, "server.key"))
    try:
        context = ssl.create_default_context(cafile=os.path.join(certs, "ca.pem"))
        status, _, body = get(server.url + "metrics", context=context) if server.url else (None, None, "")
        tap(server.url is not None and server.url.startswith("https://") and status == 200 and
            "rthunk_thunks_submitted_total 0" in body,
            "with --tls-cert, /metrics is HTTPS with the server's certificate", server.url, status)
        try:
            plain = get(server.url.replace("https://", "http://") + "metrics")[0]
        except (OSError, http.client.HTTPException) as error:
            plain = type(error).__name__
        tap(plain != 200, "and plain HTTP gets nothing", plain)
    finally:
        server.stop()


class Chromium:
    """Headless Chromium driven through the DevTools protocol on a pipe
    (--remote-debugging-pipe: commands on its fd 3, answers on its fd 4,
    each a JSON message ended by a NUL byte)."""

    def __init__(self, tmp):
        browser = shutil.which("chromium") or shutil.which("chromium-browser")
        self.proc = None
        if browser is None:
            return
        to_browser, self.commands = os.pipe()
        self.answers, from_browser = os.pipe()
        child = {3: to_browser, 4: from_browser}
        self.proc = subprocess.Popen(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
             "--remote-debugging-pipe", "--user-data-dir=" + tempfile.mkdtemp(dir=tmp), "about:blank"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "chromium.err"), "w"),
            preexec_fn=lambda: [os.dup2(fd, target) for target, fd in child.items()], pass_fds=(3, 4))
        os.close(to_browser)
        os.close(from_browser)
        self.buffer = b""
        self.next_id = 0
        self.session = None

    def call(self, method, session=True, **params):
        """The result of one DevTools command (events in between are skipped)."""
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self.commands, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            while b"\0" in self.buffer:
                raw, self.buffer = self.buffer.split(b"\0", 1)
                answer = json.loads(raw)
                if answer.get("id") == self.next_id:
                    if "error" in answer:
                        raise RuntimeError("%s: %s" % (method, answer["error"]))
                    return answer["result"]
            ready, _, _ = select.select([self.answers], [], [], 1.0)
            if ready:
                chunk = os.read(self.answers, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed its pipe")
                self.buffer += chunk
        raise RuntimeError("%s: no answer in %d s" % (method, TIMEOUT))

    def open(self, url, width, height):
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                  mobile=False)
        self.call("Page.navigate", url=url)

    def evaluate(self, expression):
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def screenshot(self, path):
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))

    def close(self):
        if self.proc is None:
            return
        try:
            self.call("Browser.close", session=False)
            self.proc.wait(timeout=TIMEOUT)
        except (RuntimeError, OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        os.close(self.commands)
        os.close(self.answers)


# The DOM once the page's JavaScript has shown a running delay thunk in its
# table and its task stream, and a throughput from two events ('' until then).
SHOWN = """(document.querySelector('#running tr.thunk.running') &&
           document.querySelector('#stream rect') && document.querySelector('#spark polyline') &&
           document.getElementById('conn').textContent === 'live')
          ? document.documentElement.outerHTML : ''"""


def check_page(server, tmp):
    status, ctype, body = get(server.url)
    tap(status == 200 and ctype.startswith("text/html") and "EventSource" in body and
        not re.search(r"""(src|href)=["']?(https?:)?//""", body),
        "/ is one HTML page with no external assets", status, ctype)
    browser = Chromium(tmp)
    if not tap(browser.proc is not None, "chromium is installed (Debian package chromium)"):
        return
    try:
        started = time.monotonic()
        browser.open(server.url, 1200, 900)
        dom = wait_for(lambda: browser.evaluate(SHOWN)) or ""
        shown_after = time.monotonic() - started
        rows = re.findall(r'<tr class="thunk running">(.*?)</tr>', dom)
        queued = re.findall(r'<tr class="thunk queued">(.*?)</tr>', dom)
        tap(any("delay" in r and "127.0.0.1:" in r for r in rows) and len(queued) == 1 and
            re.search(r'<rect[^>]*fill="#1f6fd1"', dom) and re.search(r'id="submitted">\d+<', dom),
            "headless Chromium shows the running and queued delay thunks in the tables and the task stream, live",
            "after %.1f s" % shown_after, rows, dom[:3000])
        shot = os.path.join(BUILDDIR, "tests", "dashboard.png")
        browser.screenshot(shot)
        tap(os.path.getsize(shot) > 10000, "a screenshot is kept at tests/dashboard.png", os.path.getsize(shot))
    except RuntimeError as error:
        tap(False, "chromium's DevTools protocol answers", error,
            open(os.path.join(tmp, "chromium.err")).read()[-2000:])
    finally:
        browser.close()


def maps_of(pid):
    with open("/proc/%d/maps" % pid) as f:
        return f.read()


def check_module(server, tmp):
    """libsoup is in the HTTP module, loaded only by what serves HTTP."""
    maps = maps_of(server.proc.pid)
    tap("rthunk-http-soup.so" in maps and "libsoup-3.0.so" in maps,
        "rthunkd --http has loaded the HTTP module and libsoup")
    out_path = os.path.join(tmp, "plain.out")
    plain = subprocess.Popen([RTHUNKD, "--port", "0", "--name", "plain"],
                             stdout=open(out_path, "w"), stderr=subprocess.DEVNULL)
    try:
        listening = wait_for(lambda: "listening on" in open(out_path).read())
        maps = maps_of(plain.pid) if listening else ""
        tap(listening and "libsoup" not in maps and "rthunk-http-soup" not in maps,
            "rthunkd without --http maps neither libsoup nor the HTTP module",
            [line for line in maps.splitlines() if "soup" in line])
    finally:
        plain.terminate()
        plain.wait(timeout=TIMEOUT)
    env = dict(os.environ, RTHUNK_MODULE_DIR=os.path.join(tmp, "no-modules"))
    run = subprocess.run([RTHUNKD, "--port", "0", "--name", "nohttp", "--http", "127.0.0.1:0"],
                         env=env, capture_output=True, text=True, timeout=TIMEOUT)
    tap(run.returncode == 1 and "HTTP is not available: cannot load its module" in run.stderr
        and "listening on" not in run.stdout,
        "without its module, rthunkd --http says HTTP is not available and exits 1",
        run.returncode, run.stdout, run.stderr)


def main():
    tmp = tempfile.mkdtemp(prefix="rthunk-dashboard.")
    # one worker that never gives way to a long thunk: a second delay stays queued
    server = Server("dash", tmp, "--workers", "1", "--long-thunk-ms", "0")
    clients = []
    try:
        if not tap(server.url is not None and server.address is not None,
                   "rthunkd --http 127.0.0.1:0 prints its HTTP URL", open(server.err_path).read()):
            return
        for k in range(3):
            out = shell(server.address, "(remote (+ %d 1))" % k).communicate(timeout=TIMEOUT)[0]
            tap(out.strip() == str(k + 1), "the shell runs (remote (+ %d 1))" % k, out)
        # long enough for a slow Chromium: it is cancelled when its client is killed
        clients.append(shell(server.address, "(remote (delay 600000 7))"))
        thunks = wait_for(lambda: running_delay(server.url))
        if not tap(thunks is not None, "the delay thunk shows as running in /api/thunks"):
            return
        clients.append(shell(server.address, "(remote (delay 600001 8))"))
        thunks = wait_for(lambda: queued_delay(server.url))
        if not tap(thunks is not None, "a second delay thunk shows as queued behind it"):
            return
        check_module(server, tmp)
        check_metrics(server)
        check_api(server, thunks)
        check_events(server)
        check_page(server, tmp)
        check_token(tmp)
        check_tls(tmp)
    finally:
        for client in clients:
            client.kill()
            client.wait()
        status = server.stop()
        tap(status == 0, "rthunkd stops cleanly", open(server.err_path).read()[-2000:])
        shutil.rmtree(tmp, ignore_errors=True)
    print("1..%d" % len(results))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
