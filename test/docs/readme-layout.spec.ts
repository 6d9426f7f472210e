import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The README's Layout section names every services/* folder, and only folders that exist. */
describe('README layout section', () => {
  const root = join(__dirname, '..', '..');
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Layout'), readme.indexOf('\n## ', readme.indexOf('## Layout') + 1));
  const block = section.slice(section.indexOf('```') + 3, section.lastIndexOf('```'));
  const services = block.slice(block.indexOf('services/\n'), block.search(/\ntest\//));
  const listed = new Set([...services.matchAll(/(?:^|\s)([a-z][a-z0-9-]*)\/(?=\s)/gm)].map((m) => m[1]!).filter((name) => name !== 'services'));
  const folders = readdirSync(join(root, 'services')).filter((name) => statSync(join(root, 'services', name)).isDirectory());

  it('lists every services/* folder', () => {
    expect(folders.filter((f) => !listed.has(f))).toEqual([]);
  });

  it('lists no folder that does not exist', () => {
    expect([...listed].filter((f) => !folders.includes(f))).toEqual([]);
  });

  it('lists every top-level folder it names', () => {
    const topLevel = [...block.matchAll(/^([a-z][a-z0-9-]*)\//gm)].map((m) => m[1]!);
    expect(topLevel.length).toBeGreaterThan(3);
    for (const name of topLevel) expect(statSync(join(root, name)).isDirectory()).toBe(true);
  });
});
