#!/usr/bin/env bash
# The clients for partner studios in examples/ (Python with `gql`, TypeScript typed by
# the console's code generation) against a real server: a fresh SQLite data directory,
# a fresh tenant per client with its first API key, `marquee serve` on a free port. Each client
# pushes a catalog and events, trains, deploys and prints explained recommendations;
# this fails if either fails or prints no explained recommendation.
#
# The Python venv (requirements pinned by hash) lives under MARQUEE_TOOLS (default
# /var/tmp/marquee-tools) and is rebuilt only when examples/python/requirements.txt changes.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${REPO_ROOT}"
TOOLS="${MARQUEE_TOOLS:-/var/tmp/marquee-tools}"
PYTHON="${PYTHON:-python3}"

# Python: a venv with the hash-pinned requirements.
VENV="${TOOLS}/examples-venv"
STAMP="${VENV}/requirements.sha256"
WANT="$(sha256sum examples/python/requirements.txt | cut -d' ' -f1)"
if [[ ! -x "${VENV}/bin/python" || "$(cat "${STAMP}" 2>/dev/null)" != "${WANT}" ]]; then
    rm -rf "${VENV}"
    mkdir -p "${TOOLS}"
    "${PYTHON}" -m venv "${VENV}"
    "${VENV}/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes \
        --only-binary=:all: -r examples/python/requirements.txt
    echo "${WANT}" >"${STAMP}"
fi

# TypeScript: the locked dependencies, code generation from schema.graphql, tsc.
(
    cd examples/typescript
    if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
        npm ci --no-audit --no-fund --loglevel=error
    fi
    npm run --silent codegen >/dev/null
    npx tsc -p tsconfig.json
)

TARGET="${CARGO_TARGET_DIR:-${REPO_ROOT}/target}"
cargo build --workspace --bins
# The server reads every MARQUEE_* variable as a setting: MARQUEE_TOOLS is not one.
BIN=(env -u MARQUEE_TOOLS "${TARGET}/debug/marquee")

DATA="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
LOG="${DATA}/server.log"
SERVER=""
cleanup() {
    if [[ -n "${SERVER}" ]]; then
        kill "${SERVER}" 2>/dev/null || true
        wait "${SERVER}" 2>/dev/null || true
    fi
    rm -rf "${DATA}"
}
trap cleanup EXIT

"${BIN[@]}" --data-dir "${DATA}" migrate >/dev/null
# One tenant (one studio) per client, each with its first API key.
declare -A KEYS
for client in python typescript; do
    CREDENTIALS="$("${BIN[@]}" --data-dir "${DATA}" tenant create "${client}-studio" --name "${client} studio" --json)"
    KEYS[${client}]="$(printf '%s' "${CREDENTIALS}" | python3 -c 'import json, sys; print(json.load(sys.stdin)["apiKey"]["secret"])')"
done
"${BIN[@]}" --data-dir "${DATA}" serve --port "${PORT}" >"${LOG}" 2>&1 &
SERVER=$!
URL="http://127.0.0.1:${PORT}"
START=$(date +%s)
until curl -fsS "${URL}/readyz" >/dev/null 2>&1; do
    if ! kill -0 "${SERVER}" 2>/dev/null || (( $(date +%s) - START > 60 )); then
        echo "error: the server did not become ready; its log:" >&2
        tail -40 "${LOG}" >&2
        exit 1
    fi
    sleep 0.5
done

status=0
for client in python typescript; do
    echo "== examples/${client}"
    OUT="${DATA}/${client}.out"
    if [[ "${client}" == python ]]; then
        cmd=("${VENV}/bin/python" examples/python/marquee_example.py)
    else
        cmd=(node examples/typescript/dist/main.js)
    fi
    if ! MARQUEE_URL="${URL}" MARQUEE_API_KEY="${KEYS[${client}]}" "${cmd[@]}" | tee "${OUT}"; then
        echo "error: the ${client} example failed" >&2
        status=1
    elif ! grep -q "because of" "${OUT}"; then
        echo "error: the ${client} example printed no explained recommendation" >&2
        status=1
    fi
done
if (( status != 0 )); then
    echo "the server's log (last 40 lines):" >&2
    tail -40 "${LOG}" >&2
fi
exit "${status}"
