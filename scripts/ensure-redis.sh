#!/usr/bin/env bash
# Redis for the tests of rate limits shared by replicas (redis.url): started on
# 127.0.0.1:6379 when nothing answers there (Debian's redis-server, installed if missing).
set -euo pipefail
if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    exit 0
fi
if ! command -v redis-server >/dev/null; then
    apt-get install -y -q redis-server >/dev/null
fi
redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save '' --appendonly no >/dev/null
for _ in $(seq 1 30); do
    redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && exit 0
    sleep 0.2
done
echo "Redis did not start on 127.0.0.1:6379" >&2
exit 1
