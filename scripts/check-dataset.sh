#!/usr/bin/env bash
# Tests that need MovieLens 100K read it from ../shared/datasets/ml-100k (never from the
# repo: its licence forbids redistribution). Say so clearly when it is missing; under CI
# that is a failure, not a skip.
set -uo pipefail
dir="$(cd "$(dirname "$0")/.." && pwd)/../shared/datasets/ml-100k"
if [ -f "$dir/u.data" ]; then
    echo "MovieLens 100K found at $dir"
    exit 0
fi
echo "MovieLens 100K is missing at $dir: tests that need it will report themselves skipped" >&2
if [ "${CI:-}" = "true" ]; then
    echo "error: under CI the dataset is required" >&2
    exit 1
fi
