/**
 * The one polling helper of the tests (tests never sleep to wait: they poll a condition with a
 * deadline). `waitFor` takes a condition whose truthy value ends the wait; `pollUntil` is the same
 * loop for probes whose value decides (a count, a lag) and shows the last value seen on timeout.
 */
export interface WaitForOptions {
  timeoutMs: number;
  /** Default 50 ms. */
  intervalMs?: number;
  /** Named in the timeout error. */
  what?: string;
}

/**
 * Polls `condition` until it returns a truthy value (which is returned) or the deadline passes.
 * Errors thrown by the condition count as "not yet"; the last one is reported on timeout.
 */
export async function waitFor<T>(condition: () => T | Promise<T>, options: WaitForOptions): Promise<NonNullable<T>> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const detail = lastError === undefined ? '' : `; last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what ?? 'condition'}${detail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 50));
  }
}

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
