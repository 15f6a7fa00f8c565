#!/bin/sh
# Installs Debian's PostgreSQL server binaries when they are missing, for the test suite
# (tests/pg.py starts a throwaway server from them; it never uses the system's cluster).
set -eu
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q postgresql
