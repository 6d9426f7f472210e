import { loadConfig } from '../core/config';
import { runBench, type Bench } from './context';

const config = loadConfig({});
const run = <R>(bench: Bench<R>, interrupt = new AbortController().signal) =>
  runBench(bench, { quick: true, config, configWith: () => config, interrupt, progress: () => undefined });

describe('runBench', () => {
  it('returns the result and runs clean-ups last-in first-out, keeping their notes', async () => {
    const order: string[] = [];
    const outcome = await run({
      name: 'fine',
      timeoutMs: 10_000,
      run: async (ctx) => {
        ctx.defer('first', async () => void order.push('first'));
        ctx.defer('second', async () => {
          order.push('second');
          return 'dropped';
        });
        return 42;
      },
    });
    expect(outcome).toMatchObject({ ok: true, result: 42, cleanupNotes: ['second: dropped'], cleanupProblems: [] });
    expect(order).toEqual(['second', 'first']);
  });

  it('aborts a bench at its hard timeout and still cleans up', async () => {
    let cleaned = false;
    let sawAbort = false;
    const outcome = await run({
      name: 'stuck',
      timeoutMs: 20,
      run: (ctx) => {
        ctx.defer('resources', async () => {
          cleaned = true;
        });
        ctx.signal.addEventListener('abort', () => {
          sawAbort = true;
        });
        return new Promise<never>(() => undefined);
      },
    });
    expect(outcome.ok).toBe(false);
    expect(outcome.ok ? '' : outcome.error).toMatch(/stuck exceeded its hard timeout/);
    expect(sawAbort).toBe(true);
    expect(cleaned).toBe(true);
  });

  it('reports a failing clean-up without skipping the others', async () => {
    let other = false;
    const outcome = await run({
      name: 'messy',
      timeoutMs: 10_000,
      run: async (ctx) => {
        ctx.defer('other', async () => {
          other = true;
        });
        ctx.defer('broken', async () => {
          throw new Error('cannot drop');
        });
        throw new Error('bench failed');
      },
    });
    expect(outcome).toMatchObject({ ok: false, error: 'bench failed', cleanupProblems: ['broken: cannot drop'] });
    expect(other).toBe(true);
  });

  it('stops when interrupted', async () => {
    const interrupt = new AbortController();
    interrupt.abort(new Error('interrupted'));
    const outcome = await run(
      {
        name: 'late',
        timeoutMs: 10_000,
        run: (ctx) => new Promise<never>((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))),
      },
      interrupt.signal,
    );
    expect(outcome).toMatchObject({ ok: false, error: 'interrupted' });
  });
});
