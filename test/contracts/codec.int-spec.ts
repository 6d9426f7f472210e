import { randomUUID } from 'node:crypto';
import { EventNames } from '../../schemas/generated/events';
import { loadFixture } from '../../schemas/fixtures';
import { subjectFor, TOPIC_KEYS, topicName, TOPICS } from '../../schemas/topics';
import { loadConfig } from '../../services/core/config/config';
import { EventCodec } from '../../services/core/codec/event-codec';
import { eventSchemaFrom, loadEventSchemas } from '../../services/core/codec/schemas';
import { frame } from '../../services/core/codec/wire';
import { DecodeError, SchemaRegistryError } from '../../services/core/errors/errors';
import { waitFor } from '../helpers/wait-for';

/**
 * The codec against the real schema registry (Apicurio ccompat at SCHEMA_REGISTRY_URL): subjects,
 * compatibility, round trips and schema evolution. Each run uses its own topic prefix.
 */

const registryUrl = loadConfig(process.env).schemaRegistry.url;
const schemas = loadEventSchemas();
const prefix = `ct-${randomUUID().slice(0, 8)}.`;
const createdSubjects = new Set<string>();

async function registryGet(path: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${registryUrl}${path}`, { signal: AbortSignal.timeout(5000) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

function newCodec(overrides: Partial<ConstructorParameters<typeof EventCodec>[0]> = {}): EventCodec {
  return new EventCodec({ registryUrl, topicPrefix: prefix, requestTimeoutMs: 10_000, ...overrides });
}

beforeAll(async () => {
  await waitFor(async () => (await registryGet('/subjects')).status === 200, { timeoutMs: 60_000, intervalMs: 200, what: `schema registry at ${registryUrl}` });
});

afterAll(async () => {
  // Best effort: keep the shared registry tidy (Apicurio deletes subjects on request).
  for (const subject of createdSubjects) {
    await fetch(`${registryUrl}/subjects/${encodeURIComponent(subject)}`, { method: 'DELETE', signal: AbortSignal.timeout(5000) }).catch(() => undefined);
  }
});

describe('EventCodec with the real registry', () => {
  it('registers every topic under <topic>-value with BACKWARD, idempotently', async () => {
    const ids = await newCodec().registerAll();
    TOPIC_KEYS.forEach((key) => createdSubjects.add(subjectFor(topicName(key, prefix))));
    // Asked per subject: Apicurio's GET /subjects lists one page only, which a busy registry outgrows.
    for (const key of TOPIC_KEYS) {
      const subject = subjectFor(topicName(key, prefix));
      expect((await registryGet(`/config/${subject}`)).body).toEqual({ compatibilityLevel: 'BACKWARD' });
      expect((await registryGet(`/subjects/${subject}/versions`)).body).toEqual([1]);
      expect(typeof ids[key]).toBe('number');
    }
    expect(await newCodec().registerAll()).toEqual(ids);
  });

  it.each(TOPIC_KEYS)('round-trips %s: decoded deep-equals sent, also by a fresh codec', async (key) => {
    const value = loadFixture(TOPICS[key].valueEvent);
    const bytes = await newCodec().encode(key, value as never);
    const decoded = await newCodec().decode(bytes);
    expect(decoded.eventName).toBe(TOPICS[key].valueEvent);
    expect(decoded.value).toStrictEqual(value);
  });

  it('covers every event type', () => {
    expect(TOPIC_KEYS.map((k) => TOPICS[k].valueEvent).sort()).toEqual([...EventNames].sort());
  });

  it('puts a subject with another compatibility level back on BACKWARD', async () => {
    const evoPrefix = `${prefix}compat.`;
    const subject = subjectFor(topicName('gameJudged', evoPrefix));
    createdSubjects.add(subject);
    const put = await fetch(`${registryUrl}/config/${subject}`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ compatibility: 'FORWARD' }),
    });
    expect(put.ok).toBe(true);
    await newCodec({ topicPrefix: evoPrefix }).schemaIdFor('gameJudged');
    expect((await registryGet(`/config/${subject}`)).body).toEqual({ compatibilityLevel: 'BACKWARD' });
  });

  describe('schema evolution under BACKWARD', () => {
    const evoPrefix = `${prefix}evo.`;
    const subject = subjectFor(topicName('questionAsked', evoPrefix));
    const v1Schema = schemas.QuestionAsked.schema;
    const v2 = eventSchemaFrom('QuestionAsked', {
      ...v1Schema,
      fields: [...v1Schema.fields, { name: 'askedBy', type: 'string', default: 'questioner', doc: 'added in v2' }],
    });

    beforeAll(() => createdSubjects.add(subject));

    it('v2 with an added defaulted field registers; old and new bytes decode both ways', async () => {
      const v1Codec = newCodec({ topicPrefix: evoPrefix });
      const v2Codec = newCodec({ topicPrefix: evoPrefix, schemas: { ...schemas, QuestionAsked: v2 } });
      const value = loadFixture('QuestionAsked');

      const v1Bytes = await v1Codec.encode('questionAsked', value);
      const v2Bytes = await v2Codec.encode('questionAsked', { ...value, askedBy: 'questioner-2' } as never);
      expect((await registryGet(`/subjects/${subject}/versions`)).body).toEqual([1, 2]);
      expect(v2Bytes.readInt32BE(1)).not.toBe(v1Bytes.readInt32BE(1));

      // New reader, old bytes: the added field takes its default.
      expect(await newCodec({ topicPrefix: evoPrefix, schemas: { ...schemas, QuestionAsked: v2 } }).decodeAs('questionAsked', v1Bytes)).toStrictEqual({
        ...value,
        askedBy: 'questioner',
      });
      // Old reader, new bytes (written with the v2 schema id): the unknown field is skipped.
      expect(await newCodec({ topicPrefix: evoPrefix }).decodeAs('questionAsked', v2Bytes)).toStrictEqual(value);
    });

    it.each([
      ['a new field without default', { name: 'mustHave', type: 'string' }, null],
      ['a changed field type', null, 'question'],
    ])('rejects %s with a non-retriable error naming the subject', async (_label, addedField, retypedField) => {
      const fields = v1Schema.fields.map((f) => (f.name === retypedField ? { ...f, type: 'int' } : f)).concat(addedField ? [addedField] : []);
      const broken = eventSchemaFrom('QuestionAsked', { ...v1Schema, fields });
      const codec = newCodec({ topicPrefix: evoPrefix, schemas: { ...schemas, QuestionAsked: broken } });
      const err = await codec.schemaIdFor('questionAsked').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SchemaRegistryError);
      const registryError = err as SchemaRegistryError;
      expect(registryError.retriable).toBe(false);
      expect(registryError.status).toBe(409);
      expect(registryError.subject).toBe(subject);
      expect(registryError.message).toContain(`under subject ${subject}`);
      expect(registryError.message).toContain('incompatible');
      expect((await registryGet(`/subjects/${subject}/versions`)).body).toEqual([1, 2]);
    });
  });

  describe('the GuessMade → GameEnded rename under BACKWARD (topic guess-made, subject guess-made-value)', () => {
    const renPrefix = `${prefix}ren.`;
    const subject = subjectFor(topicName('guessMade', renPrefix));
    const { aliases: _aliases, ...current } = schemas.GameEnded.schema as typeof schemas.GameEnded.schema & { aliases?: string[] };
    const guessMade = eventSchemaFrom('GameEnded', { ...current, name: 'dialoggames.v1.GuessMade' });

    beforeAll(() => createdSubjects.add(subject));

    it('the registry refuses the rename without the alias and accepts it with; GuessMade bytes decode as GameEnded', async () => {
      const value = loadFixture('GameEnded');
      const oldBytes = await newCodec({ topicPrefix: renPrefix, schemas: { ...schemas, GameEnded: guessMade } }).encode('guessMade', value);

      const noAlias = await newCodec({ topicPrefix: renPrefix, schemas: { ...schemas, GameEnded: eventSchemaFrom('GameEnded', current) } })
        .schemaIdFor('guessMade')
        .catch((e: unknown) => e);
      expect(noAlias).toBeInstanceOf(SchemaRegistryError);
      expect((noAlias as SchemaRegistryError).status).toBe(409);

      const renamed = newCodec({ topicPrefix: renPrefix });
      const newBytes = await renamed.encode('guessMade', value);
      expect((await registryGet(`/subjects/${subject}/versions`)).body).toEqual([1, 2]);
      expect(await newCodec({ topicPrefix: renPrefix }).decodeAs('guessMade', oldBytes)).toStrictEqual(value);
      expect(await newCodec({ topicPrefix: renPrefix }).decodeAs('guessMade', newBytes)).toStrictEqual(value);
    });
  });

  it('an unknown schema id is a DecodeError', async () => {
    const err = await newCodec()
      .decode(frame(2_000_000_000, Buffer.from([0])))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DecodeError);
    expect((err as Error).message).toContain('unknown schema id 2000000000');
  });

  it('an unreachable registry is a retriable error', async () => {
    const codec = newCodec({ registryUrl: 'http://127.0.0.1:9/apis/ccompat/v7', requestTimeoutMs: 3000 });
    const encodeError = await codec.encode('gameRequested', loadFixture('GameRequested')).catch((e: unknown) => e);
    expect(encodeError).toBeInstanceOf(SchemaRegistryError);
    expect((encodeError as SchemaRegistryError).retriable).toBe(true);
    const decodeError = await codec.decode(frame(1, Buffer.from([0]))).catch((e: unknown) => e);
    expect(decodeError).toBeInstanceOf(SchemaRegistryError);
    expect((decodeError as SchemaRegistryError).retriable).toBe(true);
    expect((decodeError as Error).message).toContain('unreachable');
  });
});
