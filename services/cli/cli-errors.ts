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
