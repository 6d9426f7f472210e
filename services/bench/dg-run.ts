import { main } from '../cli/main';

/**
 * `dg <args>` exactly as bin/dg runs it, minus bin/dg's rebuild check: the bound bench forks its
 * role processes through this file (`dg-run.js run <role>`) so that sources edited while a bench
 * runs cannot make every role process start by rebuilding dist/ at once.
 */
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name === 'TimeoutNegativeWarning') return;
  process.stderr.write(`${warning.name}: ${warning.message}\n`);
});
main(process.argv).catch((error: unknown) => {
  process.stderr.write(`dg: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
