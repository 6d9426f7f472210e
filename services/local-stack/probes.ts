import { Kafka, logLevel } from 'kafkajs';

/** A metadata round trip (listTopics): the broker is up and its controller quorum has elected a leader. */
export async function kafkaAnswers(broker: string, timeoutMs = 3000): Promise<boolean> {
  const kafka = new Kafka({
    clientId: 'dg-stack-probe',
    brokers: [broker],
    connectionTimeout: Math.min(timeoutMs, 1000),
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin({ retry: { retries: 0 } });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
  });
  try {
    await Promise.race([
      (async () => {
        await admin.connect();
        await admin.listTopics();
      })(),
      timeout,
    ]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    await admin.disconnect().catch(() => undefined);
  }
}

/** GET url answers 2xx and, when given, the body passes `acceptBody`. */
export async function httpAnswers(url: string, acceptBody: (body: string) => boolean = () => true, timeoutMs = 3000): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = await response.text();
    return response.ok && acceptBody(body);
  } catch {
    return false;
  }
}
