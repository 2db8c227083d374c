#!/usr/bin/env bash
# Installs a cargo tool that `make lint` needs (cargo-machete) from crates.io: built from
# source by `cargo install --locked` at a pinned version, never downloaded as a binary.
# It goes to a root outside the clone, reused when it already holds that version and
# rebuilt when it does not, so nothing has to be set up by hand.
#
# Usage: scripts/install-cargo-tool.sh <crate> <version> [binary]
#        MARQUEE_TOOLS=/some/dir scripts/install-cargo-tool.sh ...   (default /var/tmp/marquee-tools)
# Prints the full path of the binary on its last line.
set -euo pipefail

if [[ $# -lt 2 ]]; then
    echo "usage: $0 <crate> <version> [binary]" >&2
    exit 2
fi
CRATE="$1"
VERSION="$2"
BIN="${3:-$1}"
ROOT="${MARQUEE_TOOLS:-/var/tmp/marquee-tools}"
TARGET="${ROOT}/bin/${BIN}"

# `cargo install` records each installed crate and version in <root>/.crates.toml.
if [[ -x "${TARGET}" ]] && grep -qF "\"${CRATE} ${VERSION} (" "${ROOT}/.crates.toml" 2>/dev/null; then
    echo "${TARGET}"
    exit 0
fi

echo "installing ${CRATE} ${VERSION} into ${ROOT} (built once, then reused)..." >&2
# Not into the workspace's CARGO_TARGET_DIR: cargo install then builds in a temporary
# directory and removes it, leaving only the binary.
env -u CARGO_TARGET_DIR cargo install --quiet --locked --root "${ROOT}" "${CRATE}" --version "=${VERSION}" >&2
echo "${TARGET}"
