// Runs a TypeScript module in a plain Node child process (jest transforms only its own process):
// `node test/helpers/run-ts.js path/to/module.ts [args...]`. Uses the same swc settings as jest.
const fs = require('node:fs');
const path = require('node:path');
const { transformSync } = require('@swc/core');

require.extensions['.ts'] = function compileTypeScript(module, filename) {
  const { code } = transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2023',
    },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  });
  module._compile(code, filename);
};

const entry = process.argv[2];
if (!entry) {
  process.stderr.write('usage: run-ts.js <module.ts> [args...]\n');
  process.exit(2);
}
process.argv.splice(1, 2, path.resolve(entry));
require(path.resolve(entry));
