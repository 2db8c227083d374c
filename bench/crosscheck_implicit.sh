#!/usr/bin/env bash
# Checks that our ALS computes what the `implicit` library (0.7, CPU, conjugate gradient)
# computes: both start from the same initial factors on the same ml-100k training split,
# and the scores after a few iterations are compared with implicit's float64 result.
# Truncated CG amplifies rounding, so "the same" means: our float32 error is no larger
# than implicit's own float32 error (twice it at most).
#
# Usage: bench/crosscheck_implicit.sh [DATASET_DIR]
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA_DIR="${1:-${REPO_ROOT}/../shared/datasets/ml-100k}"
VENV="${VENV:-/var/tmp/marquee-implicit-venv}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/marquee-target-inference}"

if [[ ! -x "${VENV}/bin/python" ]] || ! "${VENV}/bin/python" -c "import implicit" 2>/dev/null; then
    python3 -m venv "${VENV}"
    "${VENV}/bin/pip" install --quiet 'implicit>=0.7,<0.8' numpy scipy threadpoolctl >&2
fi
cargo build --quiet --release -p inference --example crosscheck_implicit --manifest-path "${REPO_ROOT}/Cargo.toml"

WORK="$(mktemp -d)"
trap 'rm -rf "${WORK}"' EXIT
for ALPHA in 1 10; do
    for IT in 1 3; do
        "${CARGO_TARGET_DIR}/release/examples/crosscheck_implicit" "${DATA_DIR}" "${WORK}" "${ALPHA}" "${IT}"
        OPENBLAS_NUM_THREADS=1 "${VENV}/bin/python" - "${WORK}" "${ALPHA}" "${IT}" <<'PY'
import sys
import numpy as np
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares

work, alpha, iterations = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
with open(f"{work}/train.txt") as fh:
    n_users, n_items = map(int, fh.readline().split())
    rows = np.loadtxt(fh, ndmin=2)
train = sp.csr_matrix((rows[:, 2].astype(np.float32), (rows[:, 0].astype(int), rows[:, 1].astype(int))),
                      shape=(n_users, n_items))
load = lambda name: np.loadtxt(f"{work}/{name}.txt", dtype=np.float32)

def implicit_fit(dtype):
    m = AlternatingLeastSquares(factors=64, regularization=0.05, alpha=alpha, iterations=iterations,
                                num_threads=1, random_state=42, dtype=dtype)
    m.user_factors = load("init_user").astype(dtype)
    m.item_factors = load("init_item").astype(dtype)
    m.fit(train, show_progress=False)
    return m.user_factors @ m.item_factors.T

# Truncated CG amplifies rounding, so implicit's own float32 result differs from its
# float64 one; ours must be as close to the float64 reference as implicit's float32 is.
exact = implicit_fit(np.float64)
theirs = implicit_fit(np.float32)
ours = load("ours_user").astype(np.float64) @ load("ours_item").astype(np.float64).T
rel = lambda a: np.abs(a - exact).max() / np.abs(exact).max()
e_ours, e_theirs = rel(ours), rel(theirs)
verdict = "OK" if e_ours <= max(2 * e_theirs, 1e-5) else "DIFFERENT"
print(f"alpha={alpha:g} iterations={iterations}: max relative score error vs implicit float64: "
      f"ours {e_ours:.2e}, implicit float32 {e_theirs:.2e}: {verdict}")
PY
    done
done
