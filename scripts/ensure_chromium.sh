#!/usr/bin/env bash
# The console's browser tests drive Debian's chromium (never a downloaded browser build):
# install it when it is missing. Run as root (CI is).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
for attempt in 1 2 3 4 5; do
    if apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }; then
        exit 0
    fi
    echo "apt-get failed (attempt $attempt; the dpkg lock may be held): retrying" >&2
    sleep 10
done
exit 1
