#!/usr/bin/env bash
# Validates docker/k8s/*.yaml against the Kubernetes API schemas, offline, with
# `kubernetes-validate` from PyPI (it ships the schemas), installed once into a virtual
# environment under MARQUEE_TOOLS (default .tools). No cluster and no container engine
# are needed.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="1.37.0"
K8S_VERSION="1.33.0"
TOOLS="${MARQUEE_TOOLS:-$PWD/.tools}"
VENV="${TOOLS}/kubernetes-validate-${VERSION}"
if [ ! -x "${VENV}/bin/kubernetes-validate" ]; then
    python3 -m venv "${VENV}"
    "${VENV}/bin/pip" install --quiet "kubernetes-validate==${VERSION}"
fi
"${VENV}/bin/kubernetes-validate" --strict --kubernetes-version "${K8S_VERSION}" docker/k8s/*.yaml
