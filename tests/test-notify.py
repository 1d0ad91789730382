#!/usr/bin/python3
"""sd_notify readiness (systemd's Type=notify), against a real rthunkd.

Binds a unix datagram socket, starts rthunkd with NOTIFY_SOCKET naming it
(a path, then an abstract name), and checks that READY=1 arrives, only once
the server accepts connections; then that STOPPING=1 follows SIGTERM.
Without NOTIFY_SOCKET nothing is sent and the server serves as before.
Prints TAP.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile

RTHUNKD = os.environ.get("RTHUNKD")
TIMEOUT = 120.0
results = []


def tap(ok, name, detail=""):
    results.append(ok)
    print("%s %d - %s" % ("ok" if ok else "not ok", len(results), name))
    for line in str(detail).splitlines()[-20:] if not ok else []:
        print("# " + line)
    sys.stdout.flush()


def receive(sock):
    """The next datagram, or '' after TIMEOUT seconds."""
    sock.settimeout(TIMEOUT)
    try:
        return sock.recv(4096).decode()
    except socket.timeout:
        return ""


def accepts(port):
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT):
        return True


def run(address, where, name):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    env = dict(os.environ, NOTIFY_SOCKET=where)
    server = subprocess.Popen([RTHUNKD, "--port", "0", "--name", "notified"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        state = receive(sock)
        tap(state == "READY=1", "READY=1 arrives on %s" % name, state or "nothing arrived")
        # READY=1 is sent after the "listening" line: the port is open
        line = server.stdout.readline()
        port = int(line.rsplit(":", 1)[1]) if "listening on" in line else 0
        tap(port > 0 and accepts(port), "the server accepts connections once READY=1 came (%s)" % name, line)
        server.send_signal(signal.SIGTERM)
        state = receive(sock)
        tap(state == "STOPPING=1", "STOPPING=1 arrives on SIGTERM (%s)" % name, state)
        tap(server.wait(TIMEOUT) == 0, "the server stops cleanly (%s)" % name, server.stderr.read())
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        sock.close()


def main():
    if not RTHUNKD:
        print("1..0 # SKIP RTHUNKD is not set")
        return 0
    with tempfile.TemporaryDirectory(prefix="rthunk-notify.") as tmp:
        path = os.path.join(tmp, "notify")
        run(path, path, "a socket path")
        abstract = "rthunk-notify-%d" % os.getpid()
        run("\0" + abstract, "@" + abstract, "an abstract socket")

        # without NOTIFY_SOCKET: no datagram, and a normal start
        env = dict(os.environ)
        env.pop("NOTIFY_SOCKET", None)
        server = subprocess.Popen([RTHUNKD, "--port", "0"], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        line = server.stdout.readline()
        server.send_signal(signal.SIGTERM)
        tap("listening on" in line and server.wait(TIMEOUT) == 0,
            "without NOTIFY_SOCKET the server starts and stops as before", line + server.stderr.read())
    print("1..%d" % len(results))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
