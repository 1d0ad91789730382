"""main.py — the command line of rthunk-kernel.

  rthunk-kernel install [--user | --prefix P] [--server HOST:PORT]… [--cluster FILE]
  rthunk-kernel -f CONNECTION_FILE [--server HOST:PORT]… [--cluster FILE]

The first registers the kernel spec; the second is what a frontend runs.
"""

import argparse
import sys


def server_options(parser):
    parser.add_argument("--server", "-s", action="append", default=[], metavar="HOST:PORT",
                        help="use the server at HOST:PORT for remote expressions (repeatable)")
    parser.add_argument("--cluster", metavar="FILE",
                        help="use the servers of this cluster file (else RTHUNK_SERVERS, "
                             "else ~/.config/rthunk/cluster.conf)")


def install(argv):
    from rthunk_kernel import spec

    parser = argparse.ArgumentParser(prog="rthunk-kernel install",
                                     description="Register the rthunk kernel spec with Jupyter.")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="for this user only")
    where.add_argument("--prefix", metavar="P", help="under P/share/jupyter/kernels")
    server_options(parser)
    options = parser.parse_args(argv)
    path = spec.install(user=options.user, prefix=options.prefix,
                        servers=options.server, cluster_file=options.cluster)
    print("rthunk-kernel: installed the kernel spec in %s" % path)
    return 0


def run(argv):
    parser = argparse.ArgumentParser(prog="rthunk-kernel", add_help=False)
    server_options(parser)
    options, rest = parser.parse_known_args(argv)

    from ipykernel.kernelapp import IPKernelApp
    from rthunk_kernel.kernel import RthunkKernel

    RthunkKernel.servers = options.server
    RthunkKernel.cluster_file = options.cluster
    IPKernelApp.launch_instance(argv=rest, kernel_class=RthunkKernel)
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "install":
        return install(argv[1:])
    return run(argv)
