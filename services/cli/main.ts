import { Command } from 'commander';
import { registerCommands } from './commands';
import { describeCliError, humanErrorMessage, wantsHumanErrors } from './cli-errors';
import { rawVariable } from '../core/config/config';

/** Entry point of `dg`: every subcommand lives in ./commands and registers itself there. */
export async function main(argv: string[]): Promise<void> {
  // At a terminal, logs default to pretty lines (DG_LOG_FORMAT still decides when set).
  const human = wantsHumanErrors();
  if (human && !process.env.DG_LOG_FORMAT) process.env.DG_LOG_FORMAT = 'pretty';
  const program = new Command('dg')
    .description('dialog-games: VLMs play dialog games over Kafka to produce curated fine-tuning data')
    .showHelpAfterError()
    .exitOverride((err) => {
      process.exitCode = err.exitCode;
      throw err;
    });
  registerCommands(program);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    // commander already printed usage errors and help; only unexpected errors go up.
    if (err && typeof err === 'object' && 'code' in err && String((err as { code: unknown }).code).startsWith('commander.')) {
      return;
    }
    // Stack traces only on request: the message names what failed and where.
    if (process.env.DG_DEBUG) throw err;
    const brokers = rawVariable('KAFKA_BROKERS');
    const command = argv.slice(2).find((a) => !a.startsWith('-'));
    process.stderr.write(human ? `${humanErrorMessage(command, err, { brokers })}\n` : `dg: ${describeCliError(err, { brokers })}\n`);
    process.exitCode = 1;
  }
}
