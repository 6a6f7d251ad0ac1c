#!/usr/bin/env bash
# The main job: set up, build the example cluster image in applications/nginx into the default
# local store (/var/lib/sealer for root; --root or SEALER_ROOT elsewhere), and list the store.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/tools/helm:$PATH"
node dist/src/cli/main.js build -t nginx-app:v1 applications/nginx
node dist/src/cli/main.js images
