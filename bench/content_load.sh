#!/usr/bin/env bash
# Background embedding against serving (issue #13): seeds a MovieLens-100K tenant on
# SQLite, trains with the automatic choice and deploys it, starts the release server with
# the real text model and waits until the catalog is embedded. Then, in the same run and
# with wrk (installed when missing), `recommendations(first: 10)` at CONNS connections:
# once idle, once while ITEMS new items (generated titles, genres and descriptions) are
# embedded in the background. Prints both p99s and their ratio (target: at most 1.25),
# and how many items were embedded during the busy run (items/s).
#
# ITEMS=10000 CONNS=16 SECONDS_RUN=20 PROFILE=release SKIP_BUILD=0 bench/content_load.sh [DIR]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DATASET="${1:-$ROOT/../shared/datasets/ml-100k}"
ITEMS="${ITEMS:-10000}"
CONNS="${CONNS:-16}"
SECONDS_RUN="${SECONDS_RUN:-20}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/marquee-target}"
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$(bash "$ROOT/scripts/setup-onnxruntime.sh" | tail -n 1)}"
export MARQUEE_TEXT_MODEL_DIR="${MARQUEE_TEXT_MODEL_DIR:-$ROOT/.tools/text-model}"
cd "$ROOT"
[ -f "$MARQUEE_TEXT_MODEL_DIR/model.onnx" ] || bash scripts/setup-text-model.sh >/dev/null
if ! command -v wrk >/dev/null; then
  apt-get install -y -q wrk >/dev/null || { echo "install wrk (apt-get install wrk)" >&2; exit 1; }
fi
PROFILE="${PROFILE:-release}"
if [ "$PROFILE" = release ]; then FLAG=--release; DIR=release; else FLAG=; DIR=debug; fi
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build -q $FLAG -p api --bin marquee
BIN="$CARGO_TARGET_DIR/$DIR/marquee"
LUA="$ROOT/bench/wrk/graphql.lua"
PORT="${PORT:-18091}"
URL="http://127.0.0.1:$PORT/graphql"
DATA="$(mktemp -d)"
PID=
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
  rm -rf "$DATA"
}
trap cleanup EXIT
unset DATABASE_URL

# wrk CONNS SECONDS -> "requests errors rps p50 p99"
load() {
  QUERY=recommend KEY="$KEY" USERS=943 wrk -t 2 -c "$1" -d "${2}s" --timeout 5s -s "$LUA" "$URL" \
    | awk '/^RESULT/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
                       print v["requests"], v["errors"], v["rps"], v["p50_ms"], v["p99_ms"] }'
}
gql() {
  curl -sf "$URL" -H 'Content-Type: application/json' -H "Authorization: Bearer $KEY" --data-binary @-
}
# Items still waiting to be embedded.
pending() {
  echo '{"query":"{ contentEmbeddingStatus { pending } }"}' | gql \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["contentEmbeddingStatus"]["pending"])'
}

"$BIN" --data-dir "$DATA" tenant create bench --name "Bench" --json > "$DATA/tenant.json"
KEY="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["apiKey"]["secret"])' "$DATA/tenant.json")"
# The benchmark measures the server, not the plan's rate limits and quotas (0: none).
"$BIN" --data-dir "$DATA" tenant limits bench --tenant-requests-per-sec 0 --key-requests-per-sec 0 \
  --max-interactions 0 --max-catalog-items 0 > /dev/null
"$BIN" --data-dir "$DATA" import movielens "$DATASET" --tenant bench > /dev/null
"$BIN" --data-dir "$DATA" train --tenant bench --deploy > /dev/null 2>&1
MARQUEE_LOG__FILTER=warn "$BIN" --data-dir "$DATA" serve --port "$PORT" > "$DATA/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
for _ in $(seq 1 600); do [ "$(pending)" = 0 ] && break; sleep 1; done
[ "$(pending)" = 0 ] || { echo "the catalog was not embedded in 10 minutes" >&2; exit 1; }

load "$CONNS" 3 > /dev/null   # warm: the model loads, histories are cached
read -r _ IE IRPS IP50 IP99 <<< "$(load "$CONNS" "$SECONDS_RUN")"

# ITEMS new catalog items, upserted in batches of 500 (they queue for embedding at once).
python3 - "$ITEMS" > "$DATA/batches.jsonl" <<'PY'
import json, random, sys
random.seed(7)
n = int(sys.argv[1])
adjectives = "silent broken golden hidden last distant burning frozen wild secret lost bright".split()
nouns = "river empire garden signal harbor machine kingdom orchard voyage mirror circuit meadow".split()
genres = "Action Comedy Drama Sci-Fi Romance Thriller Documentary Horror Animation Fantasy".split()
places = "a coastal town|a space station|the desert|an old library|a night train|the mountains".split("|")
query = "mutation($c: [ContentInput!]!) { upsertContents(contents: $c) { accepted } }"
for start in range(0, n, 500):
    rows = []
    for i in range(start, min(n, start + 500)):
        a, b = random.choice(adjectives), random.choice(nouns)
        rows.append({"id": f"new-{i}", "kind": "MOVIE", "title": f"The {a.title()} {b.title()} {i}",
                     "genres": random.sample(genres, 2),
                     "description": f"A {a} story about a {b} in {random.choice(places)}."})
    print(json.dumps({"query": query, "variables": {"c": rows}}))
PY
while read -r batch; do
  echo "$batch" | gql | python3 -c 'import json,sys; d = json.load(sys.stdin); assert not d.get("errors"), d'
done < "$DATA/batches.jsonl"
BEFORE="$(pending)"
read -r _ BE BRPS BP50 BP99 <<< "$(load "$CONNS" "$SECONDS_RUN")"
AFTER="$(pending)"

echo "== content embedding against serving, SQLite, $CONNS connections, ${SECONDS_RUN} s per figure, $(date -u +%FT%TZ)"
printf '%-26s %9s %9s %8s %7s\n' run rps p50_ms p99_ms errors
printf '%-26s %9s %9s %8s %7s\n' idle "$IRPS" "$IP50" "$IP99" "$IE"
printf '%-26s %9s %9s %8s %7s\n' "embedding $ITEMS in background" "$BRPS" "$BP50" "$BP99" "$BE"
python3 -c "print(f'p99 ratio {$BP99 / max($IP99, 1e-9):.2f} (target at most 1.25); embedded {$BEFORE - $AFTER} items during the run ({($BEFORE - $AFTER) / $SECONDS_RUN:.0f} items/s), {$AFTER} still pending')"
