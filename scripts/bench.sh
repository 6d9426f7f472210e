#!/bin/sh
# `npm run bench`: throughput and memory figures against the real local stack (started if needed).
set -u
cd "$(dirname "$0")/.." || exit 1
if [ ! -x node_modules/.bin/node ]; then
  if [ -f package-lock.json ]; then npm ci || exit 1; else npm install || exit 1; fi
fi
exec ./node_modules/.bin/node bin/dg bench "$@"
