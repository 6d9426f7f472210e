import type { GameCurated, GameJudged } from '../../schemas/generated/events';
import { EventCodec } from '../../services/core/codec';
import { roleGroupId } from '../../services/core/bus';
import { standaloneBus } from '../../services/launcher/launcher';
import { curatedEvent } from '../clickhouse/curated-event';
import { createE2eEnvironment, waitForGroupCaughtUp, type E2eEnvironment } from '../helpers/e2e-env';
import { readTopic, republish } from '../helpers/e2e-games';
import { pollUntil } from '../helpers/e2e-wait';

/**
 * The duplicate rule is deterministic across filter instances, restarts and replays (issue 6,
 * defect 8). Games that repeat a transcript (same candidates, same dialog) but have their own game
 * ids land on different partitions, hence on either of two filter instances; later the filter is
 * restarted and more repeats arrive; finally every judged event is republished. Each transcript is
 * kept exactly once, and no game ever gets two different decisions. (Before the fix each instance
 * remembered transcripts in memory: repeats on the other instance, or after a restart, were kept.)
 */

const TRANSCRIPTS = 6;

let env: E2eEnvironment;

beforeAll(async () => {
  env = await createE2eEnvironment('dupes');
}, 60_000);

afterAll(async () => {
  await env?.cleanup();
}, 60_000);

function judged(transcript: number, copy: string): GameJudged {
  const gameId = `${env.topicPrefix}t${transcript}-${copy}`;
  const { game, ending, judgement } = curatedEvent({ gameId, runId: `${env.topicPrefix}run`, questions: 2 + transcript });
  // Same candidates in the same order and the same dialog: the same transcript hash for every copy.
  game.setup.candidates = game.setup.candidates.map((c, i) => ({ ...c, id: `scene-${transcript}-${i}` }));
  return { game, ending: { ...ending, guessedImageId: game.setup.candidates[ending.guessedIndex ?? 0]!.id }, judgement };
}

it('keeps each transcript once across two instances, a restart and a replay', async () => {
  const config = env.config();
  const group = roleGroupId(env.topicPrefix, 'filter');
  const input = env.topic('gameJudged');
  const bus = standaloneBus(config);
  env.track(() => bus.close());
  const publish = async (events: GameJudged[]): Promise<void> => {
    await bus.publishBatch(events.map((value) => ({ topic: 'gameJudged' as const, key: value.game.header.gameId, value })));
  };
  const members = async (): Promise<number> => {
    const g = (await env.admin.describeGroups([group])).groups[0];
    return g && g.state === 'Stable' ? g.members.length : -1;
  };

  // Two instances share the partitions; three copies of each transcript, spread over partitions.
  const first = await env.startRoles({}, ['filter']);
  const second = await env.startRoles({}, ['filter']);
  await pollUntil('two filter members in a stable group', members, (n) => n === 2, { timeoutMs: 60_000 });
  const copies = ['a', 'b', 'c'];
  await publish(copies.flatMap((copy) => Array.from({ length: TRANSCRIPTS }, (_, t) => judged(t, copy))));
  await waitForGroupCaughtUp(env.admin, group, input, 60_000);

  // A restart: both instances go, a fresh one comes, and more copies arrive.
  await env.stopRoles(first);
  await env.stopRoles(second);
  await env.startRoles({}, ['filter']);
  await publish(Array.from({ length: TRANSCRIPTS }, (_, t) => judged(t, 'after-restart')));
  await waitForGroupCaughtUp(env.admin, group, input, 60_000);

  // A replay: every judged event once more.
  await republish(env.kafka, input, await readTopic(env.kafka, input, env.topicPrefix));
  await waitForGroupCaughtUp(env.admin, group, input, 60_000);

  const codec = EventCodec.fromConfig(config, { topicPrefix: env.topicPrefix });
  const decisions: GameCurated[] = [];
  for (const record of await readTopic(env.kafka, env.topic('gameCurated'), env.topicPrefix)) decisions.push(await codec.decodeAs('gameCurated', record.value));
  const total = TRANSCRIPTS * (copies.length + 1);
  expect(decisions).toHaveLength(2 * total);

  const byGame = new Map<string, Set<string>>();
  for (const d of decisions)
    byGame.set(d.game.header.gameId, (byGame.get(d.game.header.gameId) ?? new Set()).add(`${d.curation.kept}:${d.curation.reasons.join(',')}`));
  expect([...byGame.entries()].filter(([, v]) => v.size > 1)).toEqual([]);
  expect(byGame.size).toBe(total);

  for (let t = 0; t < TRANSCRIPTS; t++) {
    const games = [...byGame.entries()].filter(([id]) => id.startsWith(`${env.topicPrefix}t${t}-`));
    const kept = games.filter(([, v]) => [...v][0]!.startsWith('true'));
    expect({ transcript: t, kept: kept.length }).toEqual({ transcript: t, kept: 1 });
    for (const [, v] of games.filter(([, v]) => [...v][0]!.startsWith('false'))) expect([...v]).toEqual(['false:duplicate_transcript']);
  }
  // The restart's copies all repeat a transcript kept before it.
  expect([...byGame.entries()].filter(([id, v]) => id.endsWith('-after-restart') && [...v][0] !== 'false:duplicate_transcript')).toEqual([]);
}, 300_000);
