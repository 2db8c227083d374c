#!/usr/bin/env bash
# Lists the breaking changes between the previous commit's schema.graphql and this one's
# (tools/schema-diff) and fails when CHANGELOG.md's `## [Unreleased]` section does not
# name each of them by its coordinate in backquotes (`Query.foo`, `Type.field(arg:)`).
#
# The base is HEAD~1 (in CI, the previous commit of main), or SCHEMA_BASE (e.g.
# SCHEMA_BASE=origin/main to check a whole branch). Without a base commit (a shallow
# clone, the first commit) or a schema.graphql in it, there is nothing to compare.
set -euo pipefail
cd "$(dirname "$0")/.."

BASE="${SCHEMA_BASE:-HEAD~1}"
if ! git rev-parse --verify --quiet "${BASE}^{commit}" >/dev/null 2>&1; then
    echo "schema: no commit ${BASE} to compare with (shallow clone or first commit); skipped" >&2
    exit 0
fi
TMP="$(mktemp -d)"
trap 'rm -rf "${TMP}"' EXIT
OLD="${TMP}/${BASE//\//_}:schema.graphql"
if ! git show "${BASE}:schema.graphql" >"${OLD}" 2>/dev/null; then
    echo "schema: ${BASE} has no schema.graphql; skipped" >&2
    exit 0
fi
echo "schema: comparing with ${BASE} ($(git rev-parse --short "${BASE}"))" >&2
cargo run --quiet --bin schema-diff -- "${OLD}" schema.graphql --changelog CHANGELOG.md
