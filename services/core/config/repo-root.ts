import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const PACKAGE_NAME = 'dialog-games';
let cachedRoot: string | undefined;

/**
 * The repository root (the folder whose package.json is named dialog-games). Assets such as .avsc
 * files and migrations are read from the source tree at run time, and compiled code lives one level
 * deeper under dist/, so the root is found by walking up rather than by a fixed relative path.
 */
export function repoRoot(startDir: string = __dirname): string {
  if (cachedRoot !== undefined && startDir === __dirname) return cachedRoot;
  let dir = startDir;
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && readPackageName(manifest) === PACKAGE_NAME) {
      if (startDir === __dirname) cachedRoot = dir;
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the ${PACKAGE_NAME} repository root above ${startDir}`);
    dir = parent;
  }
}

function readPackageName(manifestPath: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(manifestPath, 'utf8'));
    return typeof parsed === 'object' && parsed !== null && 'name' in parsed ? String(parsed.name) : undefined;
  } catch {
    return undefined;
  }
}
