import { InvalidArgumentError, type Command } from 'commander';
import { busConfigFrom, createKafkaClient } from '../../core/bus';
import { loadConfigOrExit } from '../../core/config';
import { createLogger } from '../../core/logging';
import { isRoleName, ROLE_INPUTS, ROLE_NAMES, roleGroupId } from '../../core/runtime';
import { topicName } from '../../../schemas/topics';

/**
 * `dg replay <role>`: rewinds a role's consumer group on its input topics, so the role handles the
 * retained stream again when it next starts: re-judge (referee), re-filter (filter) or re-write
 * (sink) without paying for model calls again. Effects are idempotent, so a replay adds no rows
 * and no dataset examples for games already there.
 */
export function register(program: Command): void {
  program
    .command('replay')
    .description(`rewind a role's consumer group to the earliest retained events (or --from a time); stop the role first. Roles: ${ROLE_NAMES.join(', ')}`)
    .argument('<role>', 'role whose input topics are replayed')
    .option('--from <time>', 'ISO time or epoch ms: replay events from this time instead of the earliest', (v: string) => {
      const ms = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
      if (!Number.isFinite(ms)) throw new InvalidArgumentError(`--from must be an ISO time or epoch ms, got "${v}"`);
      return ms;
    })
    .action(async (role: string, opts: { from?: number }) => {
      if (!isRoleName(role)) {
        process.stderr.write(`dg replay: unknown role "${role}"; expected one of ${ROLE_NAMES.join(', ')}\n`);
        process.exitCode = 2;
        return;
      }
      const config = loadConfigOrExit();
      const groupId = roleGroupId(config.topics.prefix, role);
      const admin = createKafkaClient(busConfigFrom(config).kafka, createLogger('dg.replay')).admin();
      await admin.connect();
      try {
        for (const key of ROLE_INPUTS[role]) {
          const topic = topicName(key, config.topics.prefix);
          try {
            const offsets = await admin.resetGroupOffsets(groupId, topic, opts.from);
            process.stdout.write(`${groupId} on ${topic}: ${offsets.map((o) => `${o.partition}@${o.offset}`).join(' ')}\n`);
          } catch (err) {
            const message = (err as Error).message;
            const active = /active|rebalanc|running/i.test(message) ? ` (is a ${role} still running? stop every ${role} instance first)` : '';
            throw new Error(`cannot rewind ${groupId} on ${topic}: ${message}${active}`);
          }
        }
        process.stdout.write(`replay ready: the next \`dg run ${role}\` handles ${opts.from === undefined ? 'every retained event' : `events since ${new Date(opts.from).toISOString()}`} again\n`);
      } finally {
        await admin.disconnect();
      }
    });
}
