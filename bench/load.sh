#!/usr/bin/env bash
# Load benchmark (issue #15): seeds a MovieLens-100K tenant, trains with the automatic
# choice and deploys it, starts the release server and measures, in the same run and with
# wrk (installed here when missing), `recommendations(first: 10)` for random users against
# a trivial `{ __typename }` at 1, 16 and 64 connections: throughput, p50, p99, errors and
# the server's resident memory before and after. Then each built-in family once at 16
# connections, and, with SUSTAIN_SECONDS set, a sustained run at 32 connections that
# samples memory at 2 minutes and at the end and measures the database's growth per
# served request (database, write-ahead log and archive). With PEOPLE (default 100000)
# a second tenant of that many people (bench/synth_people.py: MovieLens tastes, 10
# ratings each) is measured too, and every recommendation figure is taken with the
# answer cache (`models.answer_cache`) on and off.
#
# BACKENDS="sqlite postgres" SECONDS_RUN=10 CONNS="1 16 64" FAMILIES="als ease item-knn most-popular" (empty: none)
# PEOPLE=100000 SUSTAIN_SECONDS=0 PROFILE=release SKIP_BUILD=0 bench/load.sh [DIR]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DATASET="${1:-$ROOT/../shared/datasets/ml-100k}"
BACKENDS="${BACKENDS:-sqlite postgres}"
SECONDS_RUN="${SECONDS_RUN:-10}"
CONNS="${CONNS:-1 16 64}"
FAMILIES="${FAMILIES-als ease item-knn most-popular}"
SUSTAIN_SECONDS="${SUSTAIN_SECONDS:-0}"
PEOPLE="${PEOPLE:-100000}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/marquee-target}"
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$(bash "$ROOT/scripts/setup-onnxruntime.sh" | tail -n 1)}"
cd "$ROOT"
if ! command -v wrk >/dev/null; then
  apt-get install -y -q wrk >/dev/null || { echo "install wrk (apt-get install wrk)" >&2; exit 1; }
fi
PROFILE="${PROFILE:-release}"
if [ "$PROFILE" = release ]; then FLAG=--release; DIR=release; else FLAG=; DIR=debug; fi
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build -q $FLAG -p api --bin marquee
BIN="$CARGO_TARGET_DIR/$DIR/marquee"
LUA="$ROOT/bench/wrk/graphql.lua"
PORT="${PORT:-18090}"
URL="http://127.0.0.1:$PORT/graphql"
PID=
DATA=
DB=
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
  [ -n "$DATA" ] && rm -rf "$DATA"
  [ -n "$DB" ] && psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

rss_mb() { awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$PID/status"; }
# Bytes stored: the SQLite file and its write-ahead log, or the PostgreSQL database; and
# the audit archive (audit.archive_dir's default, under the data directory).
stored_bytes() {
  local archive=0 database
  [ -d "$DATA/audit-archive" ] && archive="$(du -sb "$DATA/audit-archive" | cut -f1)"
  if [ "$1" = sqlite ]; then database="$(cat "$DATA"/marquee.db* | wc -c)"
  else database="$(psql "$PG_URL/postgres" -tAc "SELECT pg_database_size('$DB')")"; fi
  echo $((database + archive))
}
# wrk QUERY CONNS SECONDS -> "requests errors rps p50 p99", for the tenant of $KEY and
# people 1..$USERS.
USERS=943
load() {
  local threads=2; [ "$2" -lt 2 ] && threads=1
  QUERY="$1" KEY="$KEY" USERS="$USERS" wrk -t "$threads" -c "$2" -d "${3}s" --timeout 5s -s "$LUA" "$URL" \
    | awk '/^RESULT/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
                       print v["requests"], v["errors"], v["rps"], v["p50_ms"], v["p99_ms"] }'
}
# start_server [ANSWER_CACHE]: true (the default setting) or false.
start_server() {
  MARQUEE_MODELS__ANSWER_CACHE="${1:-true}" MARQUEE_LOG__FILTER=warn "$BIN" --data-dir "$DATA" serve --port "$PORT" \
    >> "$DATA/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && return; sleep 0.1; done
  echo "the server did not start" >&2; cat "$DATA/server.log" >&2; exit 1
}
# Catalog items of the tenant of API key $1 still waiting to be embedded (0 without a
# text model).
pending() {
  curl -sf "$URL" -H 'Content-Type: application/json' -H "Authorization: Bearer $1" \
    --data-binary '{"query":"{ contentEmbeddingStatus { pending } }"}' \
    | python3 -c 'import json,sys; print((json.load(sys.stdin).get("data") or {}).get("contentEmbeddingStatus", {}).get("pending", 0))' \
    || echo 0
}
stop_server() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=; }
row() { printf '%-6s %-16s %9s %9s %8s %8s %7s %9s\n' "$@"; }
# compare CONNS LABEL: `{ __typename }` then recommendations, one row each, with the ratio.
compare() {
  local before te trps tp50 tp99 re rrps rp50 rp99
  before="$(rss_mb)"
  read -r _ te trps tp50 tp99 <<< "$(load typename "$1" "$SECONDS_RUN")"
  read -r _ re rrps rp50 rp99 <<< "$(load recommend "$1" "$SECONDS_RUN")"
  row "$1" typename "$trps" "$tp50" "$tp99" "$te" "" "$before"
  row "$1" "$2" "$rrps" "$rp50" "$rp99" "$re" "$(python3 -c "print(f'{$rrps / max($trps, 1):.0%}')")" "$(rss_mb)"
}
# create_tenant SLUG DATASET [TUNING_SECS] -> the tenant's API key; imports, trains (AUTO,
# its tuning bounded to TUNING_SECS, 300 by default) and deploys.
create_tenant() {
  "$BIN" --data-dir "$DATA" tenant create "$1" --name "$1" --json > "$DATA/$1.json"
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["apiKey"]["secret"])' "$DATA/$1.json"
  # The benchmark measures the server, not the plan's rate limits and quotas (0: none).
  "$BIN" --data-dir "$DATA" tenant limits "$1" --tenant-requests-per-sec 0 --key-requests-per-sec 0 \
    --max-interactions 0 --max-catalog-items 0 > /dev/null
  "$BIN" --data-dir "$DATA" import movielens "$2" --tenant "$1" > /dev/null
  MARQUEE_MODELS__TUNING_BUDGET_SECS="${3:-300}" "$BIN" --data-dir "$DATA" train --tenant "$1" --deploy 2>&1 | awk '/^model / { gsub(/\)/, "", $NF); print $NF }' > "$DATA/$1.chosen"
}

for BACKEND in $BACKENDS; do
  DATA="$(mktemp -d)"
  if [ "$BACKEND" = postgres ]; then
    DB="marquee_load_$$"
    psql "$PG_URL/postgres" -qc "CREATE DATABASE $DB" >/dev/null
    export DATABASE_URL="$PG_URL/$DB"
  else
    unset DATABASE_URL
  fi
  BENCH_KEY="$(create_tenant bench "$DATASET")"; KEY="$BENCH_KEY"
  if [ "$PEOPLE" -gt 0 ]; then
    python3 "$ROOT/bench/synth_people.py" "$DATASET" "$DATA/crowd-data" "$PEOPLE" 10
    STARTED=$SECONDS
    CROWD_KEY="$(create_tenant crowd "$DATA/crowd-data" 60)"
    echo "(the $PEOPLE-person tenant: imported, trained and deployed in $((SECONDS - STARTED)) s)"
  fi
  start_server
  # The catalogs imported above are embedded by the text model's worker once the server
  # runs; measured meanwhile, every embedded batch moves the answers to a new semantic
  # index (bench/content_load.sh measures serving against that). Wait for it to finish.
  for T in "$BENCH_KEY" ${CROWD_KEY:+"$CROWD_KEY"}; do
    for _ in $(seq 1 600); do [ "$(pending "$T")" = 0 ] && break; sleep 1; done
  done
  load recommend 16 2 > /dev/null   # warm: the model loads, histories are cached
  echo "== $BACKEND, AUTO ($(cat "$DATA/bench.chosen")), ${SECONDS_RUN} s per figure, $(date -u +%FT%TZ)"
  row conns query rps p50_ms p99_ms errors ratio rss_mb
  for C in $CONNS; do compare "$C" recommend; done
  if [ "$PEOPLE" -gt 0 ]; then
    KEY="$CROWD_KEY"; USERS="$PEOPLE"
    load recommend 16 2 > /dev/null
    compare 16 "recommend-${PEOPLE}p"
    KEY="$BENCH_KEY"; USERS=943
  fi
  if [ "$SUSTAIN_SECONDS" -gt 0 ]; then
    # A fresh process serving the MovieLens tenant only, as the issue measured it.
    stop_server; start_server
    load recommend 32 2 > /dev/null
    SIZE0="$(stored_bytes "$BACKEND")"; RSS0="$(rss_mb)"
    load recommend 32 "$SUSTAIN_SECONDS" > "$DATA/sustain.txt" &
    LOADER=$!
    # Sampled every second, and each figure is the largest of the 30 s before it: the
    # server hands freed heap pages back every 30 s, so one sample could fall just before
    # a trim and the other just after.
    SAMPLED_FROM=$SECONDS
    while kill -0 "$LOADER" 2>/dev/null; do echo "$((SECONDS - SAMPLED_FROM)) $(rss_mb)"; sleep 1; done > "$DATA/rss.log"
    wait "$LOADER"
    sleep 2; SIZE1="$(stored_bytes "$BACKEND")"
    read -r RSS2 RSS5 RSSMAX < <(python3 - "$DATA/rss.log" "$SUSTAIN_SECONDS" <<'PY'
import sys
samples = [tuple(map(int, line.split())) for line in open(sys.argv[1]) if len(line.split()) == 2]
end = int(sys.argv[2])
def peak(until):
    window = [mb for t, mb in samples if until - 30 < t <= until] or [0]
    return max(window)
print(peak(min(120, end)), peak(end), max(mb for _, mb in samples) if samples else 0)
PY
)
    read -r N E RPS P50 P99 < "$DATA/sustain.txt"
    echo "sustained, 32 connections, ${SUSTAIN_SECONDS} s: $N requests, $E errors, $RPS req/s, p50 $P50 ms, p99 $P99 ms"
    echo "  RSS MB (largest over the 30 s before): start $RSS0, at 2 min $RSS2, at end $RSS5 ($(python3 -c "print(f'{($RSS5 - $RSS2) / max($RSS2, 1):+.1%}')") from 2 min), largest of the run $RSSMAX"
    echo "  stored bytes: $SIZE0 -> $SIZE1, $(python3 -c "print(f'{($SIZE1 - $SIZE0) / max($N, 1):.1f}')") bytes per served request"
  fi
  echo "-- answer cache off (models.answer_cache = false)"
  stop_server; start_server false
  load recommend 16 2 > /dev/null
  for C in $CONNS; do if [ "$C" -ge 16 ]; then compare "$C" "recommend-nocache"; fi; done
  if [ "$PEOPLE" -gt 0 ]; then
    KEY="$CROWD_KEY"; USERS="$PEOPLE"
    compare 16 "${PEOPLE}p-nocache"
    KEY="$BENCH_KEY"; USERS=943
  fi
  stop_server; start_server
  echo "-- each family, 16 connections, answer cache on"
  for FAMILY in $FAMILIES; do
    if ! "$BIN" --data-dir "$DATA" train --tenant bench --algorithm "$FAMILY" --deploy --allow-worse > "$DATA/train-$FAMILY.log" 2>&1; then
      echo "$FAMILY: training failed: $(tail -n 1 "$DATA/train-$FAMILY.log")"; continue
    fi
    sleep 3  # a deployment by another process reaches the server within 2 s
    load recommend 16 1 > /dev/null
    read -r _ RE RRPS RP50 RP99 <<< "$(load recommend 16 "$SECONDS_RUN")"
    row 16 "$FAMILY" "$RRPS" "$RP50" "$RP99" "$RE" "" "$(rss_mb)"
  done
  stop_server
  rm -rf "$DATA"; DATA=
  if [ -n "$DB" ]; then psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null; DB=; fi
done
