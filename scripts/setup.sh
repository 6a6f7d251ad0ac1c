#!/usr/bin/env bash
# Sets up everything sealer's build and tests need on a fresh Debian 12 machine, idempotently:
# Debian packages (scripts/apt-packages.txt), npm packages, helm (tools/helm), the compiled
# project (dist/), and, with --services, a running dockerd and the test-node image.
#
#   bash scripts/setup.sh             # what the example build needs
#   bash scripts/setup.sh --services  # plus dockerd and the sealer-test-node image (tests)
set -euo pipefail
cd "$(dirname "$0")/.."

want_services=0
[ "${1:-}" = "--services" ] && want_services=1

missing=()
while read -r pkg; do
  case "$pkg" in ''|'#'*) continue ;; esac
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done < scripts/apt-packages.txt
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages (install them as root): ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# `npm ci` from the committed lock; fails if that changed a tracked file.
bash scripts/npm-install.sh >&2

bash scripts/setup-helm.sh >&2
bash scripts/setup-kubectl.sh >&2
echo "setup: compiling" >&2
npx tsc -p tsconfig.json
chmod +x dist/src/cli/main.js

if [ "$want_services" = 1 ]; then
  bash scripts/start-dockerd.sh >&2
  bash scripts/build-node-image.sh >/dev/null
  bash scripts/build-node-image-default.sh >/dev/null
fi
