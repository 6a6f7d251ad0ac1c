#!/usr/bin/env bash
# Sets everything up and runs every test tier (unit, integration, e2e) in one node:test run,
# after the lint. Under CI (any non-empty CI: true, 1, yes) a missing requirement fails its test
# instead of skipping it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --services
export PATH="$PWD/tools/helm:$PATH"
echo "lint: biome" >&2
npx biome lint src test bench >&2
node --test --test-reporter=spec --test-concurrency=2 --test-timeout=600000 \
  dist/test/unit/ dist/test/integration/ dist/test/e2e/
