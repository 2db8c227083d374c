#!/usr/bin/env bash
# Serving benchmark: imports MovieLens 100K into a fresh embedded instance, trains and
# deploys an auto-tuned ALS model, starts the server and runs 16 concurrent clients of
# recommendations(first: 10) over HTTP on loopback. Prints p50/p90/p99 and throughput.
# PROFILE=release for release builds (slower to build); default: the dev profile, in
# which dependencies and the inference crate are optimised anyway.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DATASET="${1:-$ROOT/../shared/datasets/ml-100k}"
SECONDS_RUN="${SECONDS_RUN:-10}"
CLIENTS="${CLIENTS:-16}"
PROFILE="${PROFILE:-dev}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/marquee-target}"
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$(bash "$ROOT/scripts/setup-onnxruntime.sh" | tail -n 1)}"
cd "$ROOT"
if [ "$PROFILE" = release ]; then FLAG=--release; DIR=release; else FLAG=; DIR=debug; fi
cargo build -q $FLAG -p api --bin marquee
cargo build -q $FLAG -p e2e --example serving_bench
BIN="$CARGO_TARGET_DIR/$DIR/marquee"
DATA="$(mktemp -d)"
trap 'kill $PID 2>/dev/null || true; rm -rf "$DATA"' EXIT
PID=
"$BIN" --data-dir "$DATA" tenant create bench --name "Bench" --json > "$DATA/tenant.json"
KEY="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["apiKey"]["secret"])' "$DATA/tenant.json")"
/usr/bin/time -f "import: %e s" "$BIN" --data-dir "$DATA" import movielens "$DATASET" --tenant bench | tail -n 3
/usr/bin/time -f "train (auto-tuned ALS): %e s" "$BIN" --data-dir "$DATA" train --tenant bench --algorithm als --deploy
PORT="${PORT:-18089}"
MARQUEE_LOG__FILTER=warn "$BIN" --data-dir "$DATA" serve --port "$PORT" &
PID=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
"$CARGO_TARGET_DIR/$DIR/examples/serving_bench" "http://127.0.0.1:$PORT/graphql" "$KEY" 943 "$SECONDS_RUN" "$CLIENTS"
