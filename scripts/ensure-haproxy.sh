#!/usr/bin/env bash
# HAProxy (Debian's package) for the e2e test of two replicas behind a load balancer
# (`proxied_replicas`): installed when `haproxy` is missing, quiet when present. The test
# starts its own haproxy process with a generated configuration; nothing runs as a service.
set -euo pipefail
if command -v haproxy >/dev/null 2>&1; then
    exit 0
fi
if ! apt-get install -y -q haproxy >/dev/null 2>&1; then
    apt-get update -q >/dev/null
    apt-get install -y -q haproxy >/dev/null
fi
# Debian starts the packaged service on install where an init system runs; the test needs
# none of it.
if command -v service >/dev/null 2>&1; then
    service haproxy stop >/dev/null 2>&1 || true
fi
command -v haproxy >/dev/null
