#!/bin/sh
# `npm start`: install dependencies when missing, then `dg start`: the local stack, every role, the
# simulated VLM and the bundled dataset, playing games continuously with a live view. Ctrl-C stops
# everything it started. Extra arguments pass through (`npm start -- --in-flight 64`).
set -u
cd "$(dirname "$0")/.." || exit 1
if [ ! -x node_modules/.bin/node ]; then
  if [ -f package-lock.json ]; then npm ci || exit 1; else npm install || exit 1; fi
fi
exec ./node_modules/.bin/node bin/dg start "$@"
