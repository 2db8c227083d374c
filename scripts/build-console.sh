#!/usr/bin/env bash
# Builds the web console into frontend/dist (served at /console): installs the locked
# dependencies when they changed, generates the GraphQL types from schema.graphql,
# typechecks (a schema change that breaks an operation fails here) and bundles.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../frontend"

if ! command -v npm >/dev/null 2>&1; then
    echo "error: npm not found; the console needs Node.js 20 or later" >&2
    exit 1
fi
# npm ci only when the lockfile is newer than the installed tree.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
    npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build >/dev/null
echo "console built: $(pwd)/dist" >&2
