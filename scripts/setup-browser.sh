#!/usr/bin/env bash
# Installs what the console's browser tests drive: Debian's Chromium (apt), used by
# playwright-core through its executablePath, so nothing downloads a browser build of
# its own. Idempotent: does nothing when /usr/bin/chromium is there.
set -euo pipefail

if [[ -x /usr/bin/chromium ]]; then
    exit 0
fi
if [[ "$(id -u)" != 0 ]]; then
    echo "error: /usr/bin/chromium is missing; install Debian's chromium package (apt-get install chromium)" >&2
    exit 1
fi
echo "installing chromium (Debian package)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
