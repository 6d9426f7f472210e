import { runChaos, type ChaosReport } from '../../services/chaos/runner';
import { startScratchStack, type ScratchStack } from '../../services/chaos/scratch-stack';
import { configureLogging } from '../../services/core/logging';

/**
 * The short `dg chaos` of `npm test`: a second, scratch stack (never the shared one), a few games
 * with every role in its own process, one role kill -9'd and restarted, 10% model faults from the
 * simulator and poison records; then every guarantee is checked from ClickHouse, Kafka and the
 * dataset files. Bounded: the window is 30 s and the drain at most 3 min.
 */
jest.setTimeout(600_000);

let stack: ScratchStack | undefined;
let report: ChaosReport;
const lines: string[] = [];

beforeAll(async () => {
  configureLogging({ level: 'silent' });
  stack = await startScratchStack('chaos-test');
  report = await runChaos({
    games: 24,
    seed: 12,
    durationMs: 30_000,
    killEveryMs: 20_000,
    restartDelayMs: 1_000,
    restartBroker: false,
    clickhouseStopMs: 0,
    modelFaults: 'fail=0.1',
    poison: 2,
    drainTimeoutMs: 180_000,
    stack: stack.settings,
    keep: false,
    log: (line) => void lines.push(line),
  });
}, 600_000);

afterAll(async () => {
  await stack?.stop();
}, 120_000);

it('kills one role process and restarts it, with model faults and poison on the way', () => {
  expect(report.faults.filter((f) => f.kind === 'kill-role')).toHaveLength(1);
  expect(report.figures.modelCalls.failed['500'] ?? 0).toBeGreaterThan(0);
  expect(report.figures.deadLetters.injected).toBe(2);
});

it('gives every game exactly one verdict and loses none', () => {
  expect({
    problems: report.problems,
    lost: report.figures.lost,
    games: report.figures.games,
    duplicates: report.figures.duplicateTerminalRows,
    unrequested: report.unrequestedGames,
  }).toEqual({
    problems: [],
    lost: 0,
    games: 24,
    duplicates: 0,
    unrequested: 0,
  });
  expect(report.figures.verdicts.success + report.figures.verdicts.failure).toBe(24);
});

it('writes each kept game to the dataset exactly once, leaves no lag, and dead-letters only the poison', () => {
  const { dataset, kept, stuckPartitions, deadLetters } = report.figures;
  expect({
    lines: dataset.lines,
    duplicateLines: dataset.duplicateLines,
    keptWithoutLine: dataset.keptWithoutLine,
    linesNotKept: dataset.linesNotKept,
  }).toEqual({ lines: kept, duplicateLines: 0, keptWithoutLine: 0, linesNotKept: 0 });
  expect(stuckPartitions).toEqual([]);
  expect({ poison: deadLetters.poisonRecordsDeadLettered, unexpected: deadLetters.unexpected }).toEqual({ poison: 2, unexpected: 0 });
  expect(report.figures.modelCalls.served).toBeGreaterThanOrEqual(report.figures.modelCalls.turnsRecorded);
  expect(report.ok).toBe(true);
});
