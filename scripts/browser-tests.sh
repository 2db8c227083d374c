#!/usr/bin/env bash
# The console's browser tests: a real `marquee serve --demo` on a fresh data directory
# and a free port, Debian's Chromium driven by playwright-core, node's test runner.
# Waits until the demo's model is deployed, then runs frontend/tests. Screenshots go to
# frontend/test-results/screenshots (named at the end).
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${REPO_ROOT}"

bash scripts/setup-browser.sh
bash scripts/build-console.sh
TARGET="${CARGO_TARGET_DIR:-${REPO_ROOT}/target}"
BIN="${TARGET}/debug/marquee"
# The same form as `make run` (a no-op after `cargo test --workspace` built it).
cargo build --workspace --bins

DATA="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
LOG="${DATA}/server.log"
# Every test signs in from 127.0.0.1: the per-address limits on sign-ins and refreshes
# are raised (as the e2e harness does); the per-account back-off stays as in production.
MARQUEE_AUTH__RATE_LIMIT__CLIENT_BURST=100000 MARQUEE_AUTH__RATE_LIMIT__CLIENT_PER_SEC=100000 \
MARQUEE_AUTH__RATE_LIMIT__CLIENT_FREE_FAILURES=100000 \
    "${BIN}" --data-dir "${DATA}" serve --demo --port "${PORT}" >"${LOG}" 2>&1 &
SERVER=$!
cleanup() {
    kill "${SERVER}" 2>/dev/null || true
    wait "${SERVER}" 2>/dev/null || true
    rm -rf "${DATA}"
}
trap cleanup EXIT

START=$(date +%s)
# The tests start once the demo's first fairness report (written after the model is
# deployed) is there.
until grep -q "Fairness report" "${LOG}"; do
    if ! kill -0 "${SERVER}" 2>/dev/null; then
        echo "error: the server stopped; its log:" >&2
        cat "${LOG}" >&2
        exit 1
    fi
    if (( $(date +%s) - START > 240 )); then
        echo "error: no demo model and report after 240 s; the server's log:" >&2
        tail -50 "${LOG}" >&2
        exit 1
    fi
    sleep 1
done
echo "demo ready after $(( $(date +%s) - START )) s:" >&2
grep -E "Demo data|Model ready|Fairness report" "${LOG}" >&2 || true

SHOTS="${REPO_ROOT}/frontend/test-results/screenshots"
rm -rf "${SHOTS}"
cd frontend
status=0
MARQUEE_URL="http://127.0.0.1:${PORT}" SCREENSHOT_DIR="${SHOTS}" node --test --test-concurrency=1 tests/ || status=$?
echo "browser test screenshots: ${SHOTS}"
if (( status != 0 )); then
    echo "the server's log (last 40 lines):" >&2
    tail -40 "${LOG}" >&2
fi
exit "${status}"
