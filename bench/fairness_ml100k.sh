#!/usr/bin/env bash
# Fairness report on MovieLens 100k: by gender, age band and genre, the cost and effect
# of the fairness-aware re-ranking, and the trade-off curves with the recommended
# setting for ALS and item-kNN. Uses a throw-away data directory.
# Usage: bench/fairness_ml100k.sh [path/to/ml-100k]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/marquee-target}"
dir="${1:-../shared/datasets/ml-100k}"
cargo run --quiet --release -p api --example fairness_ml100k -- "$dir"
