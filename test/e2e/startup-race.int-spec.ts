import { EventCodec } from '../../services/core/codec';
import { createE2eEnvironment, type E2eEnvironment } from '../helpers/e2e-env';

/**
 * Processes that start together on a fresh deployment (every role, a launcher, `npm start`) all
 * register the same subjects at the same moment. None of them may fail for having lost that race:
 * found when four launchers of one e2e test collided on a new topic prefix (the registry answered
 * one of them 409 "rule already exists" while setting the subject's compatibility).
 */

const PROCESSES = 6;
const ROUNDS = 3;

let env: E2eEnvironment;

beforeAll(async () => {
  env = await createE2eEnvironment('race');
}, 60_000);

afterAll(async () => {
  await env?.cleanup();
}, 60_000);

it(`lets ${PROCESSES} codecs register every subject of a fresh topic prefix at once, ${ROUNDS} times over`, async () => {
  for (let round = 0; round < ROUNDS; round++) {
    // Each round a new prefix under the environment's, so its subjects are new and cleanup finds them.
    const topicPrefix = `${env.topicPrefix}r${round}.`;
    const config = env.config();
    const results = await Promise.allSettled(Array.from({ length: PROCESSES }, () => EventCodec.fromConfig(config, { topicPrefix }).registerAll()));
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
    expect(failures).toEqual([]);
    const ids = results.map((r) => (r.status === 'fulfilled' ? JSON.stringify(r.value) : ''));
    expect(new Set(ids).size).toBe(1);
  }
}, 60_000);
