import { closedPort } from '../helpers/e2e-vlm';
import { runDg } from '../helpers/dg-cli';

/**
 * A failing `dg start` read by a person (DG_LOG_FORMAT=pretty stands in for a terminal, which a
 * test cannot give a child process) prints one readable message, after stopping what it started,
 * and exits 1: no JSON log lines, no stack, no retry chatter.
 */
it('dg start against a broker that is not there prints one readable message', async () => {
  const port = await closedPort();
  const result = await runDg(
    ['start', '--no-stack', '--no-sim-vlm', '--no-dashboard', '--duration', '5'],
    { ...process.env, KAFKA_BROKERS: `127.0.0.1:${port}`, DG_LOG_FORMAT: 'pretty', DG_LOG_LEVEL: '' },
    150_000,
  );
  const lines = result.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('dg: building'));
  expect(result.code).toBe(1);
  expect(lines).toEqual([`dg start: cannot reach Kafka at 127.0.0.1:${port} (ECONNREFUSED); is the stack up? Try \`npx dg stack up\` or set KAFKA_BROKERS`]);
}, 180_000);
