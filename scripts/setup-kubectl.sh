#!/usr/bin/env bash
# Puts a standalone kubectl at tools/kubectl/kubectl: Debian's kubernetes-client (kubectl 1.20),
# downloaded with `apt-get download` and unpacked with `dpkg-deb -x`, never installed: the
# package conflicts with a `kubectl` package that owns /usr/bin/kubectl, and a kubectl on PATH
# may be a dispatcher script that cannot be copied into a cluster image. The live test base image
# (test/fixtures/cluster-live) ships this binary as its rootfs bin/kubectl.
# Idempotent: does nothing when tools/kubectl/kubectl is already there and runs.
set -euo pipefail

PKG='kubernetes-client'

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest_dir="${repo_root}/tools/kubectl"
dest="${dest_dir}/kubectl"

if [[ -x "${dest}" ]] && "${dest}" version --client >/dev/null 2>&1; then
  echo "kubectl already installed at ${dest}"
  exit 0
fi

for bin in apt-get dpkg-deb; do
  command -v "${bin}" >/dev/null || { echo "setup-kubectl: ${bin} is required (Debian)" >&2; exit 1; }
done

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT

# apt-get download needs the package lists; a fresh machine may not have them yet.
if ! (cd "${work}" && apt-get download -q "${PKG}" >/dev/null 2>&1); then
  echo "setup-kubectl: refreshing apt package lists" >&2
  apt-get update -qq >&2
  (cd "${work}" && apt-get download -q "${PKG}" >/dev/null)
fi
deb="$(ls "${work}"/*.deb)"
dpkg-deb -x "${deb}" "${work}/x"
[[ -f "${work}/x/usr/bin/kubectl" ]] || { echo "setup-kubectl: ${deb} holds no usr/bin/kubectl" >&2; exit 1; }

mkdir -p "${dest_dir}"
install -m 0755 "${work}/x/usr/bin/kubectl" "${dest}.tmp.$$"
"${dest}.tmp.$$" version --client >/dev/null || { rm -f "${dest}.tmp.$$"; echo "setup-kubectl: the unpacked kubectl does not run" >&2; exit 1; }
cp "${work}/x/usr/share/doc/${PKG}/copyright" "${dest_dir}/copyright" 2>/dev/null || true
dpkg-deb -f "${deb}" Version > "${dest_dir}/VERSION"
mv -f "${dest}.tmp.$$" "${dest}"
echo "installed kubectl $(cat "${dest_dir}/VERSION") at ${dest}"
