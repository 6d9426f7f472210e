'use strict';
// Rebuilds dist/ with tsc when any source under services/ or schemas/ is newer
// than the last build stamp. Keeps `npx dg` correct on a fresh clone and after edits.
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const stamp = path.join(root, 'dist', '.build-stamp');
const sourceDirs = ['services', 'schemas'].map((d) => path.join(root, d));

function newestMtime(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

function ensureBuilt() {
  let built = 0;
  try {
    built = fs.statSync(stamp).mtimeMs;
  } catch {
    built = 0;
  }
  const sources = Math.max(...sourceDirs.map(newestMtime), fs.statSync(path.join(root, 'tsconfig.json')).mtimeMs);
  if (built >= sources) return;
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!fs.existsSync(tsc)) {
    process.stderr.write('dg: dependencies are not installed; run `npm install` in ' + root + '\n');
    process.exit(1);
  }
  process.stderr.write('dg: building TypeScript sources...\n');
  execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
  // Non-TS assets (prompts, .avsc, .sql) are read from the source tree at run time.
  fs.mkdirSync(path.dirname(stamp), { recursive: true });
  fs.writeFileSync(stamp, new Date().toISOString());
}

module.exports = { ensureBuilt };
