import type { Command } from 'commander';
import {
  STACK_ENV_VARS,
  kafkaTlsCaFile,
  StackError,
  stackAddresses,
  stackDown,
  stackSettingsFromEnv,
  stackStatus,
  stackUp,
  type StackSettings,
} from '../../local-stack';

const envHelp = `\nEnvironment:\n${Object.entries(STACK_ENV_VARS)
  .map(([name, what]) => `  ${name.padEnd(26)}${what}`)
  .join('\n')}\n`;

function progress(line: string): void {
  process.stdout.write(`stack: ${line}\n`);
}

/** Runs a stack action; a StackError becomes a message and exit code 1 instead of a stack trace. */
function action<A extends unknown[]>(run: (settings: StackSettings, ...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      // The CLI is the boot edge: the environment is read here once and passed down.
      await run(stackSettingsFromEnv(process.env), ...args);
    } catch (err) {
      if (!(err instanceof StackError)) throw err;
      process.stderr.write(`dg stack: ${err.message}\n`);
      process.exitCode = 1;
    }
  };
}

/** `dg stack up | down | status | env`: the local Kafka, schema registry and ClickHouse, no Docker needed. */
export function register(program: Command): void {
  const stack = program
    .command('stack')
    .description('run the local stack (Kafka, Apicurio schema registry, ClickHouse) on 127.0.0.1 without Docker')
    .addHelpText('after', envHelp);

  stack
    .command('up')
    .description('install what is missing, start what is not running, wait until all answer, provision topics/schemas/tables')
    .action(
      action(async (settings) => {
        const started = Date.now();
        const results = await stackUp(settings, { log: progress });
        const addresses = stackAddresses(settings);
        const verb = results.every((r) => r.outcome === 'already-running') ? 'already up' : 'up';
        progress(
          `${verb} in ${((Date.now() - started) / 1000).toFixed(1)}s: KAFKA_BROKERS=${addresses.kafkaBrokers} SCHEMA_REGISTRY_URL=${addresses.schemaRegistryUrl} CLICKHOUSE_URL=${addresses.clickhouseUrl}`,
        );
      }),
    );

  stack
    .command('down')
    .description('stop the processes `up` started (data is kept unless --purge)')
    .option('--purge', 'also delete the data, config and logs of every component')
    .action(
      action(async (settings, opts: { purge?: boolean }) => {
        await stackDown(settings, { log: progress, purge: opts.purge === true });
      }),
    );

  stack
    .command('status')
    .description('each component, its address, pid and whether it answers (exit 1 unless all are up)')
    .option('--json', 'print JSON')
    .action(
      action(async (settings, opts: { json?: boolean }) => {
        const statuses = await stackStatus(settings);
        if (opts.json) {
          process.stdout.write(JSON.stringify({ stackDir: settings.stackDir, components: statuses }, null, 2) + '\n');
        } else {
          for (const s of statuses) {
            process.stdout.write(`${s.name.padEnd(16)} ${s.state.padEnd(14)} ${s.address.padEnd(44)} ${s.pid === null ? '-' : `pid ${s.pid}`}\n`);
          }
        }
        if (statuses.some((s) => s.state !== 'up')) process.exitCode = 1;
      }),
    );

  stack
    .command('env')
    .description('print the client settings (KAFKA_BROKERS, SCHEMA_REGISTRY_URL, CLICKHOUSE_URL) of this stack as shell exports')
    .action(
      action(async (settings) => {
        const a = stackAddresses(settings);
        process.stdout.write(
          `export KAFKA_BROKERS=${a.kafkaBrokers}\nexport SCHEMA_REGISTRY_URL=${a.schemaRegistryUrl}\nexport CLICKHOUSE_URL=${a.clickhouseUrl}\n`,
        );
        // The opt-in TLS listener, as a comment: the plaintext one stays the default.
        if (settings.kafkaTls)
          process.stdout.write(
            `# TLS listener: export KAFKA_BROKERS=127.0.0.1:${settings.kafkaTls.port} KAFKA_SSL=true KAFKA_SSL_CA_FILE=${kafkaTlsCaFile(settings)}\n`,
          );
      }),
    );
}
