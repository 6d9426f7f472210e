#!/bin/sh
# `npm run bench`: throughput and memory figures against the real local stack (started if needed).
set -u
cd "$(dirname "$0")/.." || exit 1
if [ ! -x node_modules/.bin/node ] || [ package.json -nt node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # npm install, not npm ci: chdb lists optional per-platform packages that this registry does not
  # serve, so the lock never holds them and `npm ci` refuses it as out of sync.
  npm install --no-audit --no-fund || exit 1
fi
exec ./node_modules/.bin/node bin/dg bench "$@"
