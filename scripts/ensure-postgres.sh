#!/usr/bin/env bash
# Makes sure PostgreSQL answers on 127.0.0.1:5432 (the machine's cluster; trust auth).
# Outside CI a missing server only warns: the PostgreSQL tests then report themselves
# skipped. Under CI=true the tests fail instead.
set -uo pipefail
ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if ready; then exit 0; fi
if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    for version in $(ls /etc/postgresql); do
        pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    done
    for _ in $(seq 1 30); do ready && exit 0; sleep 1; done
fi
echo "warning: PostgreSQL is not reachable at 127.0.0.1:5432" >&2
exit 0
