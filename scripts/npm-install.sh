#!/usr/bin/env bash
# Installs the npm packages exactly as package-lock.json records them (`npm ci`), when
# node_modules is missing or older than package.json or the lock. The committed lock lists every
# platform's optional packages (biome's and @napi-rs/xattr's binaries), as npm writes them when it
# resolves for all platforms, so `npm ci` accepts it and nothing rewrites it. Inside a git
# checkout, fails if installing changed a tracked file (an incomplete lock, a postinstall script
# writing into the repository): the change is shown and left for a person to judge.
#   bash scripts/npm-install.sh          (scripts/setup.sh runs it)
# After changing package.json, regenerate the lock (npm resolves every platform's optional
# packages whatever machine it runs on; versions already locked stay), check it, and commit it:
#   npm install --package-lock-only --no-audit --no-fund && npm ci --no-audit --no-fund
#   npx tsc -p tsconfig.json && node --test dist/test/unit/lockfile.test.js
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -d node_modules ] && [ ! package-lock.json -nt node_modules/.package-lock.json ] \
  && [ ! package.json -nt node_modules/.package-lock.json ]; then
  exit 0
fi

# The state of the tracked files before installing, so local edits someone is making are not
# mistaken for changes the install made.
in_git=0
git rev-parse -q --verify HEAD >/dev/null 2>&1 && in_git=1
tracked_state() { git diff --no-ext-diff --binary HEAD -- . | sha256sum; }
[ "$in_git" = 1 ] && before="$(tracked_state)"

echo "setup: npm ci" >&2
npm ci --no-audit --no-fund >&2

if [ "$in_git" = 1 ] && [ "$(tracked_state)" != "$before" ]; then
  echo "setup: installing the npm packages changed tracked files (the lock must install as committed):" >&2
  git diff --no-ext-diff --stat HEAD -- . >&2
  exit 1
fi
