#!/usr/bin/env bash
# moto in server mode, the S3-compatible service the tests of `models.store = "s3"` run
# against: installs the packages pinned (with hashes) in scripts/moto-requirements.txt
# into a virtual environment of its own. Idempotent: quiet when it is there already.
# The tests start the server themselves (`<dir>/bin/moto_server -H 127.0.0.1 -p <port>`),
# each on a free port, and create their buckets.
#
# Usage: scripts/setup-moto.sh          (installs into $MARQUEE_TOOLS/moto, default
#                                         <repo>/.tools/moto)
# Prints the environment's folder on its last line.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${MARQUEE_TOOLS:-${REPO_ROOT}/.tools}/moto"
PYTHON="${PYTHON:-python3}"
REQUIREMENTS="${REPO_ROOT}/scripts/moto-requirements.txt"
STAMP="${DEST}/.requirements.sha256"
WANTED="$(sha256sum "${REQUIREMENTS}" | cut -d' ' -f1)"

if [[ -x "${DEST}/bin/moto_server" && -f "${STAMP}" && "$(cat "${STAMP}")" == "${WANTED}" ]]; then
    echo "${DEST}"
    exit 0
fi
if ! command -v "${PYTHON}" >/dev/null 2>&1; then
    echo "error: ${PYTHON} not found; it is needed to install moto from PyPI" >&2
    exit 1
fi

echo "installing moto (S3-compatible test server) into ${DEST}..." >&2
rm -rf "${DEST}"
"${PYTHON}" -m venv "${DEST}"
"${DEST}/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --require-hashes -r "${REQUIREMENTS}" >&2
"${DEST}/bin/moto_server" --help >/dev/null
echo "${WANTED}" > "${STAMP}"
echo "${DEST}"
