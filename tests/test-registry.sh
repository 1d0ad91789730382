#!/bin/sh
# The fleet's registry end to end: the cases live in tests/test-registry.py
# (a real redis-server, rthunkd --registry, the real shell through -e and
# a pseudo-terminal), run as tests/test-shell-remote.sh runs its own.
# Prints TAP.
SHELL_REMOTE_CASES=test-registry.py exec sh "${RTHUNK_TOP_SRCDIR:?}/tests/test-shell-remote.sh"
