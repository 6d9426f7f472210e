import { InvalidArgumentError, type Command } from 'commander';
import { integerArg } from '../args';
import { ClickHouseConnection, migrateClickHouse } from '../../core/clickhouse';
import { loadConfigOrExit } from '../../core/config';
import { listModels, registerModel, untrainedModelRecord } from '../../iterations/registry';

/** `dg models list|register`: the model registry. */
export function register(program: Command): void {
  const models = program.command('models').description('the model registry: models, their lineage, training sets and eval results');

  models
    .command('list')
    .description('every registered model with its parent, iteration, training set and eval results')
    .option('--json', 'one JSON array on the last line')
    .action(async (opts: { json?: boolean }) => {
      const config = loadConfigOrExit();
      await migrateClickHouse({ ...config.clickhouse });
      const ch = new ClickHouseConnection({ ...config.clickhouse });
      try {
        const list = await listModels(ch, config.clickhouse.database);
        if (opts.json) {
          process.stdout.write(JSON.stringify(list) + '\n');
          return;
        }
        if (list.length === 0) process.stdout.write('no models registered (dg models register, or dg iterate registers each new model)\n');
        for (const m of list) {
          const evals = m.evals.map((e) => `${e.eval_set}=${e.success_rate} [${e.ci_low}-${e.ci_high}]`).join(' ') || '-';
          const trained =
            m.train_games > 0
              ? `trained on ${m.train_games} games of iteration(s) ${m.train_iterations.join(',')} (${m.train_view}, ${m.train_hash.slice(0, 12)})`
              : 'base model';
          process.stdout.write(`${m.name}  ${m.role}  it ${m.iteration}  parent ${m.parent || '-'}  ${m.endpoint}  ${trained}  evals ${evals}\n`);
        }
      } finally {
        await ch.close();
      }
    });

  models
    .command('register')
    .description('record a model by hand (e.g. the base model of a loop)')
    .requiredOption('--name <name>', 'model name as the endpoint serves it')
    .option('--endpoint <url>', "OpenAI-compatible base URL (default: the role's configured base URL)")
    .option(
      '--role <role>',
      'questioner or answerer',
      (v: string) => {
        if (v !== 'questioner' && v !== 'answerer') throw new InvalidArgumentError(`--role must be questioner or answerer, got "${v}"`);
        return v;
      },
      'answerer',
    )
    .option('--parent <name>', 'the model it was fine-tuned from', '')
    .option('--iteration <k>', 'iteration k of M_k', integerArg('--iteration', 0), 0)
    .action(async (opts: { name: string; endpoint?: string; role: 'questioner' | 'answerer'; parent: string; iteration: number }) => {
      const config = loadConfigOrExit();
      await migrateClickHouse({ ...config.clickhouse });
      const ch = new ClickHouseConnection({ ...config.clickhouse });
      try {
        await registerModel(
          ch,
          untrainedModelRecord({
            name: opts.name,
            endpoint: opts.endpoint ?? config.models[opts.role].baseUrl,
            role: opts.role,
            parent: opts.parent,
            base_model: opts.parent ? '' : opts.name,
            iteration: opts.iteration,
          }),
        );
        process.stdout.write(`registered ${opts.name}\n`);
      } finally {
        await ch.close();
      }
    });
}
