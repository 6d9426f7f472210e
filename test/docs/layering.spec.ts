import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = join(__dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Relative imports of a file, as paths from the repository root. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from |import\()'(\.[^']+)'/g)].map((m) => relative(root, resolve(dirname(file), m[1]!)));
}

/** The layering issue 6 asked for: core depends on nothing above it; the shared role runtime lives outside core. */
describe('layering', () => {
  it('services/core (its tests aside) imports only services/core and schemas/', () => {
    const outside = sources(join(root, 'services', 'core'))
      .filter((file) => !/\.(int-)?spec\.ts$/.test(file))
      .flatMap((file) =>
        importsOf(file)
          .filter((target) => !target.startsWith('services/core/') && !target.startsWith('schemas/'))
          .map((target) => `${relative(root, file)} -> ${target}`),
      );
    expect(outside).toEqual([]);
  });

  it('nothing under services/bench imports the role application from services/cli', () => {
    const fromCli = sources(join(root, 'services', 'bench')).flatMap((file) =>
      importsOf(file)
        .filter((t) => t === 'services/cli/role-app')
        .map((t) => `${relative(root, file)} -> ${t}`),
    );
    expect(fromCli).toEqual([]);
  });
});
