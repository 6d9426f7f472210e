import { roleGroupId } from '../../services/core/bus';
import { planFrom } from '../../services/launcher/launcher';
import { startSimVlm } from '../../services/sim-vlm/server';
import { createE2eEnvironment, topicMessageCount, waitForGroupCaughtUp, consumerLag, type E2eEnvironment } from '../helpers/e2e-env';
import { runDg } from '../helpers/dg-cli';
import { datasetLines, launch, syntheticImages, tableCounts, waitForRunRows } from '../helpers/e2e-games';

/**
 * `dg replay <role>` as a user runs it: with the referee and the sink stopped, rewinding their groups
 * makes the restarted roles judge, filter and write every game again (no model calls), and nothing
 * in ClickHouse or the dataset changes. Rewinding a group whose role still runs is refused by name.
 */

const GAMES = 30;
const CLI_TIMEOUT_MS = 240_000;

let env: E2eEnvironment;

beforeAll(async () => {
  env = await createE2eEnvironment('replay');
}, 60_000);

afterAll(async () => {
  await env?.cleanup();
}, 60_000);

it(
  're-judges and re-writes every game without changing any count',
  async () => {
    const sim = await startSimVlm({ port: 0 });
    env.track(() => sim.close());
    const overrides = { QUESTIONER_BASE_URL: sim.baseUrl, ANSWERER_BASE_URL: sim.baseUrl };
    const players = await env.startRoles(overrides, ['questioner', 'answerer']);
    let curators = await env.startRoles(overrides, ['referee', 'filter', 'sink']);
    const config = env.config(overrides);
    const plan = planFrom(config, { datasetName: 'synthetic-v1', seed: 424_242, runId: `${env.topicPrefix}replay` });
    const startedAt = Date.now();
    await launch(config, plan, await syntheticImages(config), GAMES);
    await waitForRunRows(env.clickhouse, env.database, plan.runId, GAMES, startedAt, 120_000);
    const sinkGroup = roleGroupId(env.topicPrefix, 'sink');
    await waitForGroupCaughtUp(env.admin, sinkGroup, env.topic('gameCurated'), 30_000);
    const before = await tableCounts(env.clickhouse, plan.runId);
    const datasetBefore = (await datasetLines(env.dataDir)).map((l) => l.gameId).sort();
    const curatedBefore = await topicMessageCount(env.admin, env.topic('gameCurated'));
    expect(curatedBefore).toBe(GAMES);

    const childEnv: NodeJS.ProcessEnv = { ...process.env, DG_TOPIC_PREFIX: env.topicPrefix, DG_LOG_LEVEL: 'warn' };
    const refused = await runDg(['replay', 'sink'], childEnv, CLI_TIMEOUT_MS);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(new RegExp(`cannot rewind ${sinkGroup.replace(/\./g, '\\.')} on .*game-curated`));

    await env.stopRoles(curators);
    await env.stopRoles(players);
    for (const role of ['referee', 'sink']) {
      const replay = await runDg(['replay', role], childEnv, CLI_TIMEOUT_MS);
      expect({ code: replay.code, stderr: replay.code === 0 ? '' : replay.stderr }).toEqual({ code: 0, stderr: '' });
      expect(replay.stdout).toContain(`replay ready: the next \`dg run ${role}\``);
    }
    expect(await consumerLag(env.admin, sinkGroup, env.topic('gameCurated'))).toBe(GAMES);

    curators = await env.startRoles(overrides, ['referee', 'filter', 'sink']);
    await waitForGroupCaughtUp(env.admin, roleGroupId(env.topicPrefix, 'referee'), env.topic('guessMade'), 60_000);
    await waitForGroupCaughtUp(env.admin, roleGroupId(env.topicPrefix, 'filter'), env.topic('gameJudged'), 60_000);
    await waitForGroupCaughtUp(env.admin, sinkGroup, env.topic('gameCurated'), 60_000);
    // Every game was judged and curated a second time, and the sink handled both copies...
    expect(await topicMessageCount(env.admin, env.topic('gameCurated'))).toBe(2 * GAMES);
    // ...without a second row or a second example.
    expect(await tableCounts(env.clickhouse, plan.runId)).toEqual(before);
    expect((await datasetLines(env.dataDir)).map((l) => l.gameId).sort()).toEqual(datasetBefore);
  },
  CLI_TIMEOUT_MS * 3,
);
