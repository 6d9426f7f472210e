import type { Command } from 'commander';
import { runCodegen } from '../../core/codec/codegen';

/** `dg codegen [--check]`: regenerate schemas/generated/events.ts from the .avsc files. */
export function register(program: Command): void {
  program
    .command('codegen')
    .description('generate TypeScript types from schemas/avro/**/*.avsc into schemas/generated/events.ts')
    .option('--check', 'do not write; exit 1 when the generated types are stale')
    .action((opts: { check?: boolean }) => {
      const result = runCodegen({ check: opts.check === true });
      if (opts.check) {
        if (result.changed) {
          process.stderr.write(`${result.path} is stale: run \`npm run generate:types\` and commit the result\n`);
          process.exitCode = 1;
        } else {
          process.stdout.write(`${result.path} is up to date\n`);
        }
      } else {
        process.stdout.write(result.changed ? `wrote ${result.path}\n` : `${result.path} is up to date\n`);
      }
    });
}
