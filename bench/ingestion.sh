#!/usr/bin/env bash
# Ingestion benchmark: builds the release binary, imports MovieLens 100K into a fresh
# SQLite data directory (prints seconds; target <= 5 s), then starts the server and
# pushes batches of recordInteractions over HTTP from concurrent clients (prints
# events/s; target >= 20,000).
#
#   bench/ingestion.sh [DATASET_DIR]        (default ../shared/datasets/ml-100k)
#   BATCHES=100 BATCH=1000 CLIENTS=4 bench/ingestion.sh
#   SKIP_BUILD=1 bench/ingestion.sh           (use the release binary as built)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:-$(pwd)/../shared/datasets/ml-100k}"
BATCHES="${BATCHES:-100}"
BATCH="${BATCH:-1000}"
CLIENTS="${CLIENTS:-4}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/marquee-target}"
if [ ! -f "$DATA/u.data" ]; then
    echo "MovieLens 100K not found at $DATA (research-only licence: it is never in this repository)" >&2
    exit 1
fi

if [ "${SKIP_BUILD:-}" != "1" ]; then
    cargo build --release --workspace --bins -q
fi
BIN="$CARGO_TARGET_DIR/release/marquee"
DIR="$(mktemp -d /var/tmp/marquee-bench.XXXXXX)"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$DIR"
}
trap cleanup EXIT
export MARQUEE_LOG__FILTER=error   # logs go to stdout; keep them out of the figures
mq() { "$BIN" --data-dir "$DIR" --database-url "sqlite://$DIR/marquee.db?mode=rwc" "$@"; }

mq migrate >/dev/null
KEY="$(mq tenant create bench --name Bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["apiKey"]["secret"])')"

echo "== MovieLens 100K import into SQLite (target <= 5 s)"
start=$(date +%s.%N)
mq import movielens "$DATA" --tenant bench
end=$(date +%s.%N)
IMPORT_S=$(python3 -c "print(f'{$end - $start:.2f}')")
echo "import wall time: ${IMPORT_S} s (whole command: start-up, migrations check, import)"
start=$(date +%s.%N)
mq import movielens "$DATA" --tenant bench | grep -E "^(items|end users|interactions)"
end=$(date +%s.%N)
echo "second (idempotent) import: $(python3 -c "print(f'{$end - $start:.2f}')") s"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BIN" --data-dir "$DIR" --database-url "sqlite://$DIR/marquee.db?mode=rwc" serve --port "$PORT" --no-migrate >"$DIR/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done

echo "== recordInteractions over HTTP: $BATCHES batches of $BATCH events, $CLIENTS concurrent clients (target >= 20,000 events/s)"
python3 - "$PORT" "$KEY" "$BATCHES" "$BATCH" "$CLIENTS" <<'PY'
import http.client, json, random, sys, threading, time
port, key, batches, size, clients = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
types = ["VIEW", "PLAY", "COMPLETE", "LIKE", "RATING", "ADD_TO_LIST", "SKIP"]
query = "mutation($e: [InteractionInput!]!) { recordInteractions(events: $e) { accepted duplicates usersCreated errors { index code } } }"
rng = random.Random(7)
run = int(time.time())
bodies = []
for b in range(batches):
    events = []
    for i in range(size):
        t = rng.choice(types)
        e = {"eventId": f"bench-{run}-{b}-{i}", "userId": str(rng.randint(1, 5000)),
             "contentId": str(rng.randint(1, 1682)), "type": t,
             "occurredAt": "2024-05-01T12:00:00Z"}
        if t == "RATING":
            e["value"] = rng.randint(1, 5)
        events.append(e)
    bodies.append(json.dumps({"query": query, "variables": {"e": events}}).encode())
headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
# One request first, so the API key is verified (and cached) before the clients start.
warm = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
warm.request("POST", "/graphql", json.dumps({"query": "{ tenant { slug } }"}).encode(), headers)
warm.getresponse().read()
warm.close()
lock = threading.Lock()
next_batch = [0]
totals = {"accepted": 0, "duplicates": 0, "errors": 0, "failed": 0}
latencies = []
def worker():
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    while True:
        with lock:
            if next_batch[0] >= len(bodies):
                break
            body = bodies[next_batch[0]]
            next_batch[0] += 1
        t0 = time.perf_counter()
        conn.request("POST", "/graphql", body, headers)
        resp = conn.getresponse()
        data = json.loads(resp.read())
        dt = time.perf_counter() - t0
        with lock:
            latencies.append(dt)
            r = (data.get("data") or {}).get("recordInteractions")
            if resp.status != 200 or r is None:
                totals["failed"] += 1
                print("failed:", resp.status, str(data)[:300], file=sys.stderr)
            else:
                totals["accepted"] += r["accepted"]
                totals["duplicates"] += r["duplicates"]
                totals["errors"] += len(r["errors"])
    conn.close()
start = time.perf_counter()
threads = [threading.Thread(target=worker) for _ in range(clients)]
for t in threads: t.start()
for t in threads: t.join()
elapsed = time.perf_counter() - start
events = batches * size
latencies.sort()
p50 = latencies[len(latencies) // 2] * 1000
p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))] * 1000
print(f"{events} events in {elapsed:.2f} s: {events / elapsed:,.0f} events/s "
      f"(batch latency p50 {p50:.0f} ms, p95 {p95:.0f} ms; accepted {totals['accepted']}, "
      f"duplicates {totals['duplicates']}, row errors {totals['errors']}, failed requests {totals['failed']})")
sys.exit(1 if totals["failed"] or totals["accepted"] != events else 0)
PY
