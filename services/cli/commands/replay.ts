import { InvalidArgumentError, type Command } from 'commander';
import { busConfigFrom, createKafkaClient } from '../../core/bus';
import { loadConfigOrExit } from '../../core/config';
import { createLogger } from '../../core/logging';
import { isRoleName, ROLE_INPUTS, roleGroupId } from '../../core/bus';
import { topicName } from '../../../schemas/topics';
import { replayIntoVersion } from '../../iterations/replay-version';

/**
 * Roles a replay may rewind: those that call no model. Replaying the questioner or the answerer
 * would play old games again past their deadline, end them as timeout with a played ending's
 * priority and overwrite the verdicts they had (issue 6, defect 2).
 */
export const REPLAYABLE_ROLES = ['referee', 'filter', 'sink'] as const;

function timeArg(flag: string): (v: string) => number {
  return (v: string) => {
    const ms = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
    if (!Number.isFinite(ms)) throw new InvalidArgumentError(`${flag} must be an ISO time or epoch ms, got "${v}"`);
    return ms;
  };
}

/**
 * `dg replay <role>`: rewinds a role's consumer group on its input topics, so the role handles the
 * retained stream again when it next starts: re-judge (referee), re-filter (filter) or re-write
 * (sink) without paying for model calls again. Effects are idempotent, so a replay adds no rows
 * and no dataset examples for games already there.
 */
export function register(program: Command): void {
  program
    .command('replay')
    .description(
      `rewind a role's consumer group to the earliest retained events (or --from a time); stop the role first. Roles: ${REPLAYABLE_ROLES.join(', ')}. ` +
        'With --version V (referee, filter): re-decide the stream under rules version V with a fresh consumer group, writing decisions tagged V next to the old ones',
    )
    .argument('<role>', 'role whose input topics are replayed')
    .option('--from <time>', 'ISO time or epoch ms: replay events from this time instead of the earliest', timeArg('--from'))
    .option('--to <time>', 'with --version: stop at events after this time (default: the end at start)', timeArg('--to'))
    .option('--version <v>', 'referee or filter: a new rules version; decisions go to referee_decisions / filter_decisions tagged with it')
    .option('--json', 'with --version: print the result as one JSON line')
    .action(async (role: string, opts: { from?: number; to?: number; version?: string; json?: boolean }) => {
      if (!isRoleName(role)) {
        process.stderr.write(`dg replay: unknown role "${role}"; expected one of ${REPLAYABLE_ROLES.join(', ')}\n`);
        process.exitCode = 2;
        return;
      }
      if (!(REPLAYABLE_ROLES as readonly string[]).includes(role)) {
        process.stderr.write(
          `dg replay: ${role} calls a model and would play old games again (ending them as timeout over their recorded verdicts); replay only ${REPLAYABLE_ROLES.join(', ')}, or launch new games with dg play\n`,
        );
        process.exitCode = 2;
        return;
      }
      const config = loadConfigOrExit();
      if (opts.version !== undefined) {
        if (role !== 'referee' && role !== 'filter') {
          process.stderr.write(`dg replay: --version applies to referee and filter (rules versions), not ${role}\n`);
          process.exitCode = 2;
          return;
        }
        if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(opts.version)) {
          process.stderr.write(`dg replay: --version must be letters, digits, . _ - (up to 64), got "${opts.version}"\n`);
          process.exitCode = 2;
          return;
        }
        const result = await replayIntoVersion(config, {
          role,
          version: opts.version,
          ...(opts.from !== undefined ? { fromMs: opts.from } : {}),
          ...(opts.to !== undefined ? { toMs: opts.to } : {}),
        });
        const rate = result.handled / Math.max(0.001, result.elapsedMs / 1000);
        if (opts.json) process.stdout.write(JSON.stringify({ ...result, games_per_s: Number(rate.toFixed(1)) }) + '\n');
        else
          process.stdout.write(
            `${result.groupId}: ${result.handled} games re-decided as ${role} version ${opts.version} (${result.written} rows), ${(result.elapsedMs / 1000).toFixed(2)} s, ${rate.toFixed(1)} games/s\n`,
          );
        return;
      }
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
        process.stdout.write(
          `replay ready: the next \`dg run ${role}\` handles ${opts.from === undefined ? 'every retained event' : `events since ${new Date(opts.from).toISOString()}`} again\n`,
        );
      } finally {
        await admin.disconnect();
      }
    });
}
