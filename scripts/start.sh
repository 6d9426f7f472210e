#!/bin/sh
# `npm start`: install dependencies when missing, then `dg start`: the local stack, every role, the
# simulated VLM and the bundled dataset, playing games continuously with a live view. Ctrl-C stops
# everything it started. Extra arguments pass through (`npm start -- --in-flight 64`).
set -u
cd "$(dirname "$0")/.." || exit 1
if [ ! -x node_modules/.bin/node ] || [ package.json -nt node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # npm install, not npm ci: chdb lists optional per-platform packages that this registry does not
  # serve, so the lock never holds them and `npm ci` refuses it as out of sync.
  npm install --no-audit --no-fund || exit 1
fi
exec ./node_modules/.bin/node bin/dg start "$@"
