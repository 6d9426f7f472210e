#!/bin/sh
# `npm test`: install dependencies when missing, build, type-check, start the local stack unless it is
# already running, run jest (extra arguments pass through), and stop the stack afterwards only when
# this script started it. Exits with jest's status. Plain sh: npm may run it with the system shell.
set -u
cd "$(dirname "$0")/.." || exit 1

if [ ! -x node_modules/.bin/node ] || [ package.json -nt node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # npm install, not npm ci: chdb lists optional per-platform packages that this registry does not
  # serve, so the lock never holds them and `npm ci` refuses it as out of sync.
  npm install --no-audit --no-fund || exit 1
fi
NODE=./node_modules/.bin/node

$NODE -e "require('./scripts/ensure-built.js').ensureBuilt()" || exit 1
echo "test.sh: type-checking"
$NODE node_modules/typescript/bin/tsc -p tsconfig.json --noEmit || exit 1
echo "test.sh: checking formatting (prettier; \`npm run format\` fixes it)"
$NODE node_modules/prettier/bin/prettier.cjs --check --log-level warn 'services/**/*.{ts,js}' 'test/**/*.ts' 'scripts/*.js' jest.config.js || exit 1

# Components of ours already running before this script: if any, the stack is someone else's to stop.
running_before=$($NODE bin/dg stack status --json 2>/dev/null | $NODE -e '
  let text = "";
  process.stdin.on("data", (d) => (text += d)).on("end", () => {
    try { console.log(JSON.parse(text).components.filter((c) => c.pid !== null).length); } catch { console.log(0); }
  });')
started_stack=0
stop_stack() {
  if [ "$started_stack" = 1 ]; then
    echo "test.sh: stopping the stack this run started"
    $NODE bin/dg stack down
  fi
}
trap stop_stack EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "${running_before:-0}" = 0 ]; then started_stack=1; fi
$NODE bin/dg stack up || exit 1

$NODE node_modules/jest/bin/jest.js --runInBand "$@"
