#!/usr/bin/env bash
# Installs the ONNX Runtime shared library that `ort` (feature load-dynamic) loads at run
# time. It comes from the `onnxruntime` wheel on PyPI, so no build step downloads a
# binary from anywhere else. Idempotent: does nothing when the library is already there.
#
# Usage: scripts/setup-onnxruntime.sh            (installs into <repo>/.tools/onnxruntime)
#        ORT_INSTALL_DIR=/some/dir scripts/setup-onnxruntime.sh
# Prints the full path of the library on its last line.
set -euo pipefail

VERSION="1.31.1"
LIB="libonnxruntime.so.${VERSION}"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${ORT_INSTALL_DIR:-${REPO_ROOT}/.tools/onnxruntime}"
TARGET="${DEST}/${LIB}"

if [[ -s "${TARGET}" ]]; then
    echo "onnxruntime ${VERSION} already installed" >&2
    echo "${TARGET}"
    exit 0
fi

PYTHON="${PYTHON:-python3}"
if ! command -v "${PYTHON}" >/dev/null 2>&1; then
    echo "error: ${PYTHON} not found; it is needed to download and unpack the onnxruntime wheel" >&2
    exit 1
fi

WORK="$(mktemp -d)"
trap 'rm -rf "${WORK}"' EXIT

echo "downloading the onnxruntime==${VERSION} wheel from PyPI..." >&2
"${PYTHON}" -m pip download --quiet --no-deps --only-binary=:all: \
    "onnxruntime==${VERSION}" -d "${WORK}" >&2

WHEEL="$(ls "${WORK}"/onnxruntime-"${VERSION}"-*.whl 2>/dev/null | head -n 1 || true)"
if [[ -z "${WHEEL}" ]]; then
    echo "error: no onnxruntime ${VERSION} wheel was downloaded for this platform" >&2
    exit 1
fi

# A wheel is a zip file; python's zipfile module avoids depending on `unzip`.
"${PYTHON}" - "${WHEEL}" "${WORK}/out" "${LIB}" <<'PY'
import sys, zipfile
wheel, out, lib = sys.argv[1:4]
member = f"onnxruntime/capi/{lib}"
with zipfile.ZipFile(wheel) as z:
    if member not in z.namelist():
        sys.exit(f"error: {member} not found in {wheel}")
    z.extract(member, out)
PY

mkdir -p "${DEST}"
# Copy then rename so a concurrent reader never sees a half-written library.
cp "${WORK}/out/onnxruntime/capi/${LIB}" "${DEST}/.${LIB}.tmp"
mv -f "${DEST}/.${LIB}.tmp" "${TARGET}"
echo "installed onnxruntime ${VERSION}" >&2
echo "${TARGET}"
