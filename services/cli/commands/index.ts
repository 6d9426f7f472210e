import type { Command } from 'commander';
import * as bench from './bench';
import * as chaos from './chaos';
import * as codegen from './codegen';
import * as dashboard from './dashboard';
import * as dataset from './dataset';
import * as evalCommand from './eval';
import * as exportCommand from './export';
import * as iterateCommand from './iterate';
import * as migrate from './migrate';
import * as models from './models';
import * as play from './play';
import * as replay from './replay';
import * as run from './run';
import * as simVlm from './sim-vlm';
import * as stack from './stack';
import * as start from './start';
import * as stats from './stats';
import * as tinyVlm from './tiny-vlm';

/**
 * Each command module exports `register(program)`. Add one line per command here.
 */
const commandModules: Array<{ register(program: Command): void }> = [
  bench,
  chaos,
  codegen,
  dashboard,
  dataset,
  evalCommand,
  exportCommand,
  iterateCommand,
  migrate,
  models,
  play,
  replay,
  run,
  simVlm,
  stack,
  start,
  stats,
  tinyVlm,
];

export function registerCommands(program: Command): void {
  for (const m of commandModules) m.register(program);
}
