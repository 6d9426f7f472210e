import { rmSync } from 'node:fs';
import { schemaRegistryComponent } from '../services/local-stack/components/schema-registry';
import { launchDetached, logTail, pollUntil, processStartTicks, stopRecordedProcess, type PidRecord } from '../services/local-stack/processes';
import type { StackSettings } from '../services/local-stack';
import { scratchStackSettings } from './helpers/scratch-stack';

/**
 * The local stack's Apicurio keeps its schemas across a restart, like the Kafka log next to it: an
 * in-memory registry would forget the ids inside the messages still on the topics and hand the same
 * ids to other schemas after a `dg stack down` / `up`. A scratch registry (never the shared one,
 * its own folder and free port) is started, given schemas, stopped (SIGTERM) and started again.
 * test/local-stack.int-spec.ts checks that subject names survive `dg stack down`/`up`; this one
 * checks what the messages depend on: an id still resolves to its schema and is never reused.
 * (It fails with the bundle's default in-memory H2: "No content with id/hash 'contentId-1'".)
 */
jest.setTimeout(420_000);

let settings: StackSettings;
let running: PidRecord | undefined;

async function startRegistry(): Promise<string> {
  const component = schemaRegistryComponent(settings);
  await component.install(() => undefined);
  const spec = await component.prepareLaunch(() => undefined);
  const pid = launchDetached(spec);
  running = { pid, startTicks: processStartTicks(pid) ?? 0, address: component.address, command: spec.command, startedAt: new Date().toISOString() };
  if (!(await pollUntil(() => component.isReady(), 180_000, 500))) {
    throw new Error(`scratch registry did not answer at ${component.address}:\n${component.logFiles.map((f) => logTail(f)).join('\n')}`);
  }
  return component.address;
}

async function stopRegistry(): Promise<void> {
  if (running) await stopRecordedProcess(running, 20_000);
  running = undefined;
}

function avro(name: string, field: string): string {
  return JSON.stringify({ type: 'record', name, namespace: 'dg.test', fields: [{ name: field, type: 'string' }] });
}

async function register(base: string, subject: string, schema: string): Promise<number> {
  const res = await fetch(`${base}/subjects/${encodeURIComponent(subject)}/versions`, {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ schema }),
  });
  const body = await res.text();
  if (!res.ok) throw new Error(`register ${subject}: HTTP ${res.status} ${body}`);
  return (JSON.parse(body) as { id: number }).id;
}

async function schemaById(base: string, id: number): Promise<unknown> {
  const res = await fetch(`${base}/schemas/ids/${id}`);
  const body = await res.text();
  if (!res.ok) throw new Error(`schema ${id}: HTTP ${res.status} ${body}`);
  return JSON.parse((JSON.parse(body) as { schema: string }).schema);
}

beforeAll(async () => {
  settings = await scratchStackSettings('registry');
});

afterAll(async () => {
  await stopRegistry().catch(() => undefined);
  if (settings) rmSync(settings.stackDir, { recursive: true, force: true });
});

it('a schema id registered before a registry restart still resolves to its schema afterwards, and new schemas get new ids', async () => {
  const first = avro('Before', 'a');
  let base = await startRegistry();
  const id = await register(base, 'persist-test-value', first);
  expect(await schemaById(base, id)).toEqual(JSON.parse(first));
  await stopRegistry();

  base = await startRegistry();
  expect(await schemaById(base, id)).toEqual(JSON.parse(first));
  // Registering the same schema again finds it; another schema does not take its id.
  expect(await register(base, 'persist-test-value', first)).toBe(id);
  const otherId = await register(base, 'persist-other-value', avro('After', 'b'));
  expect(otherId).not.toBe(id);
  expect(await schemaById(base, id)).toEqual(JSON.parse(first));
});
