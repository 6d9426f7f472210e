import { waitFor } from './wait-for';

/**
 * waitFor for probes whose value decides (a count, a lag): polls `probe` until `accept` holds, and a
 * timeout also shows the last value seen, which is usually what explains it.
 */
export async function pollUntil<T>(
  what: string,
  probe: () => Promise<T>,
  accept: (value: T) => boolean,
  options: { timeoutMs: number; intervalMs?: number },
): Promise<T> {
  let last: { value: T } | undefined;
  try {
    const accepted = await waitFor(
      async () => {
        const value = await probe();
        last = { value };
        return accept(value) ? last : undefined;
      },
      { timeoutMs: options.timeoutMs, intervalMs: options.intervalMs ?? 200, what },
    );
    return accepted.value;
  } catch (err) {
    if (last === undefined) throw err;
    throw new Error(`${(err as Error).message}; last value: ${JSON.stringify(last.value)}`, { cause: err });
  }
}
