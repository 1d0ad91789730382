"""servers.py — the servers a kernel's session uses, found as the shell does.

--server HOST:PORT (repeatable), then RTHUNK_SERVERS (comma-separated),
then --cluster FILE, or ~/.config/rthunk/cluster.conf when nothing else
names a server; RTHUNK_TOKEN is the token; RTHUNK_REGISTRY, a registry
the session follows (every server registered there, and those that
register later). With none, the session starts its embedded provider by
itself on the first remote form.
"""

import os

from gi.repository import GLib


def default_cluster_file():
    return os.path.join(GLib.get_user_config_dir(), "rthunk", "cluster.conf")


class ServerError(Exception):
    """A server that cannot be added, or a cluster file that cannot be read."""


def cluster_file_addresses(path):
    """The addresses of a cluster file: one group per server, each with an
    `address` key. Raises ServerError naming the file."""
    keyfile = GLib.KeyFile()
    try:
        keyfile.load_from_file(path, GLib.KeyFileFlags.NONE)
        groups, _ = keyfile.get_groups()
        return [keyfile.get_string(group, "address") for group in groups]
    except GLib.Error as e:
        raise ServerError("%s: %s" % (path, e.message))


def addresses(servers, cluster_file):
    """Every address the session is to use, in the shell's order."""
    found = list(servers or [])
    found += [a.strip() for a in os.environ.get("RTHUNK_SERVERS", "").split(",") if a.strip()]
    if cluster_file is None and not found and os.path.exists(default_cluster_file()):
        cluster_file = default_cluster_file()
    if cluster_file is not None:
        found += cluster_file_addresses(cluster_file)
    return found


def add_servers(session, servers, cluster_file):
    """Adds the servers to @session and sets the token. Raises ServerError."""
    token = os.environ.get("RTHUNK_TOKEN")
    if token:
        session.set_token(token)
    for address in addresses(servers, cluster_file):
        try:
            session.add_server(address)
        except GLib.Error as e:
            raise ServerError(e.message)
    registry = os.environ.get("RTHUNK_REGISTRY")
    if registry:
        try:
            session.get_cluster().follow_registry(registry, None, 0)
        except GLib.Error as e:
            raise ServerError("RTHUNK_REGISTRY: %s" % e.message)
