#!/usr/bin/env bash
# `make lint`: the house rules, checked by CI before the tests. Each step stops the run:
#   1. formatting (rustfmt.toml),
#   2. clippy on every target with warnings as errors,
#   3. unused dependencies (cargo-machete, installed from crates.io on first use),
#   4. breaking changes to schema.graphql announced in CHANGELOG.md,
#   5. the Kubernetes manifests in docker/k8s/ against the API schemas,
#   6. `unsafe` only in the reviewed module (inference/src/native_memory.rs).
set -euo pipefail
cd "$(dirname "$0")/.."

MACHETE_VERSION="0.9.2"

step() { printf '\n== %s\n' "$*" >&2; }

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy -D warnings"
cargo clippy --quiet --workspace --all-targets -- -D warnings

step "unused dependencies (cargo-machete ${MACHETE_VERSION})"
MACHETE="$(bash scripts/install-cargo-tool.sh cargo-machete "${MACHETE_VERSION}" | tail -n 1)"
"${MACHETE}" --with-metadata

step "breaking schema changes"
bash scripts/check-schema-changes.sh

step "Kubernetes manifests (kubernetes-validate)"
bash scripts/validate-k8s.sh

step "unsafe code only in the reviewed module"
REVIEWED="inference/src/lib.rs"
ALLOWED="$(grep -rln --include='*.rs' 'allow(unsafe_code)' api domain inference migrations tenants tests tools 2>/dev/null || true)"
if [ "$ALLOWED" != "$REVIEWED" ] \
  || [ "$(grep -A1 'allow(unsafe_code)' "$REVIEWED" | tr -d '\n')" != '#[allow(unsafe_code)]pub mod native_memory;' ]; then
  echo "allow(unsafe_code) may appear only in $REVIEWED (on inference::native_memory); found in:" >&2
  echo "$ALLOWED" >&2
  exit 1
fi

printf '\nlint: all checks passed\n' >&2
