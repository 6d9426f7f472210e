import type { Command } from 'commander';
import * as codegen from './codegen';
import * as migrate from './migrate';
import * as play from './play';
import * as run from './run';
import * as stack from './stack';

/**
 * Each command module exports `register(program)`. Add one line per command here.
 */
const commandModules: Array<{ register(program: Command): void }> = [codegen, migrate, play, run, stack];

export function registerCommands(program: Command): void {
  for (const m of commandModules) m.register(program);
}
