/** One line a user can act on for an error that reached the top of a `dg` command. */
export function describeCliError(err: unknown, env: { brokers?: string } = {}): string {
  const chain: unknown[] = [];
  for (let e: unknown = err; e && chain.length < 6; e = (e as { cause?: unknown }).cause) chain.push(e);
  const codes = chain.map((e) => (e as { code?: unknown }).code).filter((c): c is string => typeof c === 'string');
  const names = chain.map((e) => (e as { name?: unknown }).name).filter((n): n is string => typeof n === 'string');
  const first = err instanceof Error ? err.message : String(err);
  if (names.some((n) => n.startsWith('KafkaJS')) && codes.some((c) => c === 'ECONNREFUSED' || c === 'ENOTFOUND' || c === 'ETIMEDOUT')) {
    return `cannot reach Kafka${env.brokers ? ` at ${env.brokers}` : ''} (${codes.find((c) => c.startsWith('E'))}); is the stack up? Try \`npx dg stack up\` or set KAFKA_BROKERS`;
  }
  if (codes.includes('ECONNREFUSED')) return `${first}; is the stack up? Try \`npx dg stack status\``;
  return first;
}

/**
 * Whether a person is reading: DG_LOG_FORMAT=pretty, or (unless DG_LOG_FORMAT=json asks for machine
 * logs) stdout or stderr is a terminal. Then logs are pretty lines and a failing command prints one
 * readable message instead of a JSON log line.
 */
export function wantsHumanErrors(
  env: NodeJS.ProcessEnv = process.env,
  streams: { stdout: { isTTY?: boolean }; stderr: { isTTY?: boolean } } = process,
): boolean {
  const format = env.DG_LOG_FORMAT?.trim().toLowerCase();
  if (format === 'pretty') return true;
  if (format === 'json') return false;
  return Boolean(streams.stderr.isTTY || streams.stdout.isTTY);
}

/** The one message a failed command prints for a person: `dg <command>: <what failed and what to do>`. */
export function humanErrorMessage(command: string | undefined, err: unknown, env: { brokers?: string } = {}): string {
  const text = describeCliError(err, env).trim();
  // Multi-line messages (e.g. every invalid variable of a ConfigError) stay readable, indented under the first line.
  return `dg${command ? ` ${command}` : ''}: ${text.split('\n').join('\n  ')}`;
}
