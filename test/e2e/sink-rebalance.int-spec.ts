import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { GameCurated } from '../../schemas/generated/events';
import { roleGroupId } from '../../services/core/bus';
import { standaloneBus } from '../../services/launcher/launcher';
import { curatedEvent } from '../clickhouse/curated-event';
import { createE2eEnvironment, waitForGroupCaughtUp, type E2eEnvironment } from '../helpers/e2e-env';
import { datasetLines, readTopic, republish } from '../helpers/e2e-games';
import { pollUntil } from '../helpers/e2e-wait';

/**
 * The dataset is exactly-once across sink instances (issue 6, defect 6): two sinks in one consumer
 * group share a data directory; partitions move A → A+B → A while new games arrive and every event
 * so far is republished after each move. Each kept game ends up as exactly one line. (Before the
 * fix, A cached each shard's game ids once, so games B wrote while it held a partition were written
 * again by A when the partition came back.)
 */

const PER_WAVE = 18;

let env: E2eEnvironment;

beforeAll(async () => {
  env = await createE2eEnvironment('sinkmove');
}, 60_000);

afterAll(async () => {
  await env?.cleanup();
}, 60_000);

it('keeps one line per kept game while a partition moves between two sink instances and events are republished', async () => {
  const config = env.config();
  const group = roleGroupId(env.topicPrefix, 'sink');
  const topic = env.topic('gameCurated');
  const bus = standaloneBus(config);
  env.track(() => bus.close());
  const games = (wave: string): GameCurated[] =>
    Array.from({ length: PER_WAVE }, (_, i) => curatedEvent({ gameId: `${env.topicPrefix}${wave}-${i}`, runId: `${env.topicPrefix}run`, kept: i % 3 !== 2 }));
  const publish = async (events: GameCurated[]): Promise<void> => {
    await bus.publishBatch(events.map((value) => ({ topic: 'gameCurated' as const, key: value.game.header.gameId, value })));
  };
  const republishAll = async (): Promise<void> => republish(env.kafka, topic, await readTopic(env.kafka, topic, env.topicPrefix));
  const members = async (): Promise<number> => {
    const described = await env.admin.describeGroups([group]);
    const g = described.groups[0];
    return g && g.state === 'Stable' ? g.members.length : -1;
  };

  // A alone writes the first wave: it now knows every shard it touched.
  const a = await env.startRoles({}, ['sink']);
  const first = games('first');
  await publish(first);
  await waitForGroupCaughtUp(env.admin, group, topic, 60_000);

  // B joins and takes partitions; new games land on them and everything is republished.
  const b = await env.startRoles({}, ['sink']);
  await pollUntil('two sink members in a stable group', members, (n) => n === 2, { timeoutMs: 60_000 });
  const second = games('second');
  await publish(second);
  await republishAll();
  await waitForGroupCaughtUp(env.admin, group, topic, 60_000);

  // B leaves: its partitions move back to A, which sees everything once more.
  await env.stopRoles(b);
  await pollUntil('one sink member in a stable group', members, (n) => n === 1, { timeoutMs: 60_000 });
  const third = games('third');
  await publish(third);
  await republishAll();
  await waitForGroupCaughtUp(env.admin, group, topic, 60_000);
  await env.stopRoles(a);

  const kept = [...first, ...second, ...third]
    .filter((g) => g.curation.kept)
    .map((g) => g.game.header.gameId)
    .sort();
  const lines = await datasetLines(env.dataDir);
  expect(lines.map((l) => l.gameId).sort()).toEqual(kept);
  // Every shard was released: no lock file is left behind.
  const dir = join(env.dataDir, 'dataset', 'iteration-0');
  expect((await readdir(dir)).filter((f) => !f.endsWith('.jsonl'))).toEqual([]);
}, 300_000);
