#!/usr/bin/env bash
# Times the reference ALS fit (f=64, reg=0.05, alpha=1, 15 iterations, 2 threads) of the
# `implicit` library (0.7, CPU, conjugate gradient) and of Marquee's inference crate on
# exactly the same MovieLens 100K training split, in the same run, and prints the median
# of each and the ratio ours / implicit (below 1.0: ours is faster).
#
# Usage: bench/compare_implicit.sh [DATASET_DIR]     (default: ../shared/datasets/ml-100k)
# Env:   REPS (default 7), VENV (default /var/tmp/marquee-implicit-venv),
#        CARGO_TARGET_DIR (default /var/tmp/marquee-target-inference)
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA_DIR="${1:-${REPO_ROOT}/../shared/datasets/ml-100k}"
REPS="${REPS:-7}"
VENV="${VENV:-/var/tmp/marquee-implicit-venv}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/marquee-target-inference}"

if [[ ! -f "${DATA_DIR}/u.data" ]]; then
    echo "error: no u.data in ${DATA_DIR} (MovieLens 100K is never committed; see DESIGN.md)" >&2
    exit 1
fi

if [[ ! -x "${VENV}/bin/python" ]] || ! "${VENV}/bin/python" -c "import implicit" 2>/dev/null; then
    echo "creating ${VENV} with implicit 0.7 from PyPI..." >&2
    python3 -m venv "${VENV}"
    "${VENV}/bin/pip" install --quiet 'implicit>=0.7,<0.8' numpy scipy threadpoolctl >&2
fi

echo "building the benchmark (release)..." >&2
cargo build --quiet --release -p inference --example bench_ml100k --manifest-path "${REPO_ROOT}/Cargo.toml"
BENCH="${CARGO_TARGET_DIR}/release/examples/bench_ml100k"

WORK="$(mktemp -d)"
trap 'rm -rf "${WORK}"' EXIT
TRAIN="${WORK}/train.txt"

# Ours first; it also writes the training split it used, for implicit to fit on.
OURS_OUT="$("${BENCH}" "${DATA_DIR}" --fit-reps "${REPS}" --dump-train "${TRAIN}")"
echo "${OURS_OUT}"
OURS="$(awk '/^OURS_FIT_MEDIAN/ {print $2}' <<<"${OURS_OUT}")"

# As in shared/bench/baseline_implicit.py: one BLAS thread, implicit's own 2 threads.
IMPLICIT_OUT="$(OPENBLAS_NUM_THREADS=1 "${VENV}/bin/python" - "${TRAIN}" "${REPS}" <<'PY'
import statistics
import sys
import time

import numpy as np
import scipy.sparse as sp
import threadpoolctl
import implicit
from implicit.cpu.als import AlternatingLeastSquares

path, reps = sys.argv[1], int(sys.argv[2])
with open(path) as fh:
    n_users, n_items = map(int, fh.readline().split())
    rows = np.loadtxt(fh, dtype=np.float64, ndmin=2)
train = sp.csr_matrix(
    (rows[:, 2].astype(np.float32), (rows[:, 0].astype(np.int64), rows[:, 1].astype(np.int64))),
    shape=(n_users, n_items),
)
pools = "; ".join(f"{p['internal_api']} threads={p['num_threads']}" for p in threadpoolctl.threadpool_info())
print(f"implicit {implicit.__version__}, train {train.shape} nnz {train.nnz}, pools: {pools}")

def fit():
    m = AlternatingLeastSquares(factors=64, regularization=0.05, alpha=1.0, iterations=15,
                                num_threads=2, random_state=42)
    t = time.perf_counter()
    m.fit(train, show_progress=False)
    return time.perf_counter() - t

fit()  # warm-up: first call pays imports and thread-pool start
times = sorted(fit() for _ in range(reps))
print("implicit fit seconds: " + " ".join(f"{t:.4f}" for t in times))
print(f"IMPLICIT_FIT_MEDIAN {statistics.median(times):.6f}")
PY
)"
echo "${IMPLICIT_OUT}"
IMPLICIT="$(awk '/^IMPLICIT_FIT_MEDIAN/ {print $2}' <<<"${IMPLICIT_OUT}")"

python3 - "${OURS}" "${IMPLICIT}" <<'PY'
import sys
ours, theirs = float(sys.argv[1]), float(sys.argv[2])
print(f"median fit: ours {ours:.4f} s, implicit {theirs:.4f} s, ratio ours/implicit {ours / theirs:.3f}"
      f" ({'PASS' if ours <= theirs else 'FAIL'}: target <= 1.0)")
PY
