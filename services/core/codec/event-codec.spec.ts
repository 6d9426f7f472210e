import * as avro from 'avsc';
import { EventNames } from '../../../schemas/generated/events';
import { loadFixture, loadInvalidFixtures } from '../../../schemas/fixtures';
import { TOPIC_KEYS, TOPICS } from '../../../schemas/topics';
import { DecodeError, SchemaRegistryError, SchemaValidationError } from '../errors/errors';
import { EventCodec, plainConverter, toPlain } from './event-codec';
import { InMemorySchemaRegistry } from './registry-client';
import { eventSchemaFrom, loadEventSchemas } from './schemas';
import { validationIssues } from './validation';
import { encodeFramed, frame, unframe } from './wire';

const schemas = loadEventSchemas();

function codec(registry = new InMemorySchemaRegistry(), prefix = 'unit.') {
  return { registry, codec: new EventCodec({ topicPrefix: prefix, registry }) };
}

describe('event schemas', () => {
  it('loads every generated event with a self-contained schema', () => {
    expect(Object.keys(schemas).sort()).toEqual([...EventNames].sort());
    for (const name of EventNames) {
      const standalone = avro.Type.forSchema(schemas[name].schema as avro.Schema);
      expect(standalone.equals(schemas[name].type)).toBe(true);
      expect(schemas[name].fullName).toBe(`dialoggames.v1.${name}`);
    }
  });

  it('keeps docs and defaults in the registered schema', () => {
    const text = JSON.stringify(schemas.GameRequested.schema);
    expect(text).toContain('"doc":"Unique game id (UUID)."');
    expect(text).toContain('"default":"random"');
  });
});

describe('golden fixtures', () => {
  it.each(EventNames)('%s fixture is valid and round-trips through Avro', (name) => {
    const value = loadFixture(name);
    expect(validationIssues(schemas[name].type, value)).toEqual([]);
    const decoded = schemas[name].type.fromBuffer(schemas[name].type.toBuffer(value));
    expect(JSON.parse(JSON.stringify(decoded))).toEqual(JSON.parse(JSON.stringify(value)));
  });

  it.each(EventNames)('%s decodes to the same plain objects through its compiled converter as through toPlain', (name) => {
    const type = schemas[name].type;
    const bytes = type.toBuffer(loadFixture(name));
    const expected = toPlain(type.fromBuffer(bytes));
    const converted = plainConverter(type)(type.fromBuffer(bytes));
    expect(converted).toStrictEqual(expected);
    expect(Object.getPrototypeOf(converted)).toBe(Object.prototype);
  });

  const invalid = loadInvalidFixtures();
  it('has invalid variants', () => expect(invalid.length).toBeGreaterThanOrEqual(5));

  it.each(invalid.map((f) => [f.name, f] as const))('invalid/%s fails naming exactly its bad paths', (_name, fixture) => {
    const issues = validationIssues(schemas[fixture.event].type, fixture.value);
    expect(issues.map((i) => i.path).sort()).toEqual([...fixture.expectedPaths].sort());
  });
});

describe('validation messages', () => {
  it('say what was expected and what came', () => {
    const value = loadFixture('GameRequested');
    (value.game.header as unknown as Record<string, unknown>).iteration = 'three';
    delete (value.game.header as unknown as Record<string, unknown>).gameId;
    const issues = validationIssues(schemas.GameRequested.type, value);
    expect(issues).toEqual([
      { path: 'game.header.gameId', message: 'missing (expected string)' },
      { path: 'game.header.iteration', message: 'expected int (32-bit integer), got "three"' },
    ]);
  });

  it('name enum symbols and undeclared fields', () => {
    const value = loadFixture('GameEnded') as unknown as { ending: Record<string, unknown> };
    value.ending.kind = 'gave_up';
    value.ending.extra = 1;
    (value as unknown as Record<string, unknown>).topLevelTypo = true;
    const messages = validationIssues(schemas.GameEnded.type, value).map((i) => `${i.path}: ${i.message}`);
    expect(messages).toContain('ending: unknown field extra (not in record GameEnding)');
    expect(messages).toContain(': unknown field topLevelTypo (not in record GameEnded)');
    expect(messages).toContain(
      'ending.kind: expected one of guess|no_guess|turn_limit|unparseable_output|model_error|bad_image|timeout|rule_violation|bad_input, got "gave_up"',
    );
  });
});

describe('wire format', () => {
  it('frames with magic byte 0 and a big-endian schema id', () => {
    const framed = frame(258, Buffer.from([7, 8]));
    expect([...framed]).toEqual([0, 0, 0, 1, 2, 7, 8]);
    expect(unframe(framed)).toEqual({ schemaId: 258, body: Buffer.from([7, 8]) });
  });

  it('encodeFramed writes the same bytes as frame(id, toBuffer()), small records, records above 1 KiB and above its scratch size', () => {
    const type = avro.Type.forSchema({
      type: 'record',
      name: 'Blob',
      fields: [
        { name: 'text', type: 'string' },
        { name: 'n', type: 'long' },
      ],
    });
    for (const length of [0, 10, 1_000, 5_000, 200_000, 3]) {
      const value = { text: 'é'.repeat(length), n: length };
      const framed = encodeFramed(77, type, value);
      expect(framed.equals(frame(77, type.toBuffer(value)))).toBe(true);
      expect(type.fromBuffer(unframe(framed).body)).toEqual(value);
    }
    expect(() => encodeFramed(-1, type, { text: '', n: 0 })).toThrow(RangeError);
  });

  it('plainConverter handles recursive records, maps, nullable records and other unions like toPlain', () => {
    const type = avro.Type.forSchema({
      type: 'record',
      name: 'Node',
      fields: [
        { name: 'label', type: 'string' },
        { name: 'next', type: ['null', 'Node'], default: null },
        { name: 'children', type: { type: 'array', items: 'Node' }, default: [] },
        { name: 'tags', type: { type: 'map', values: { type: 'record', name: 'Tag', fields: [{ name: 'v', type: 'int' }] } }, default: {} },
        { name: 'either', type: ['null', 'string', 'Tag'], default: null },
        { name: 'raw', type: 'bytes', default: '' },
      ],
    });
    const value = {
      label: 'a',
      next: { label: 'b', next: null, children: [], tags: {}, either: 'x', raw: Buffer.from([1]) },
      children: [{ label: 'c', next: null, children: [], tags: { k: { v: 2 } }, either: { v: 3 }, raw: Buffer.alloc(0) }],
      tags: { t: { v: 1 } },
      either: null,
      raw: Buffer.from([9, 9]),
    };
    const bytes = type.toBuffer(value);
    const converted = plainConverter(type)(type.fromBuffer(bytes));
    expect(converted).toStrictEqual(toPlain(type.fromBuffer(bytes)));
    expect(converted).toStrictEqual(value);
  });

  it.each([
    ['null', null, /no value/],
    ['too short', Buffer.from([0, 0, 1]), /too short: 3 bytes/],
    ['no magic byte', Buffer.from('{"json":true}'), /magic byte 0 \(got 0x7b\)/],
  ])('rejects %s with DecodeError', (_label, message, pattern) => {
    expect(() => unframe(message as Buffer | null)).toThrow(DecodeError);
    expect(() => unframe(message as Buffer | null)).toThrow(pattern);
  });
});

describe('EventCodec (in-memory registry)', () => {
  it('registers every topic under <topic>-value with BACKWARD, once', async () => {
    const { registry, codec: c } = codec();
    const ids = await c.registerAll();
    expect(Object.keys(ids).sort()).toEqual([...TOPIC_KEYS].sort());
    for (const key of TOPIC_KEYS) {
      const subject = `unit.${TOPICS[key].baseName}-value`;
      expect(registry.versions(subject)).toEqual([ids[key]]);
      expect(registry.compatibilityOf(subject)).toBe('BACKWARD');
    }
    await c.registerAll();
    expect(registry.versions('unit.game-requested-value')).toHaveLength(1);
  });

  it.each(TOPIC_KEYS)('round-trips the %s fixture with plain objects out', async (key) => {
    const { codec: c } = codec();
    const value = loadFixture(TOPICS[key].valueEvent);
    const bytes = await c.encode(key, value as never);
    expect(bytes[0]).toBe(0);
    const decoded = await c.decode(bytes);
    expect(decoded.eventName).toBe(TOPICS[key].valueEvent);
    expect(decoded.schemaId).toBe(await c.schemaIdFor(key));
    expect(decoded.value).toStrictEqual(value);
    await expect(c.decodeAs(key, bytes)).resolves.toStrictEqual(value);
  });

  it('fills defaulted fields the producer left out', async () => {
    const { codec: c } = codec();
    const value = loadFixture('GameRequested') as unknown as { game: { header: Record<string, unknown> } };
    delete value.game.header.sampler;
    const decoded = (await c.decodeAs('gameRequested', await c.encode('gameRequested', value as never))) as unknown as typeof value;
    expect(decoded.game.header.sampler).toBe('random');
  });

  it('refuses invalid values before touching the registry, naming every path', async () => {
    const registry = new InMemorySchemaRegistry();
    const register = jest.spyOn(registry, 'register');
    const { codec: c } = codec(registry);
    const fixture = loadInvalidFixtures().find((f) => f.name === 'several-bad-fields')!;
    const err = await c.encode('gameJudged', fixture.value as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchemaValidationError);
    expect((err as SchemaValidationError).retriable).toBe(false);
    expect((err as SchemaValidationError).paths.sort()).toEqual([...fixture.expectedPaths].sort());
    expect((err as Error).message).toMatch(/^invalid GameJudged: /);
    expect(register).not.toHaveBeenCalled();
  });

  it('rejects an unknown schema id with DecodeError', async () => {
    const { codec: c } = codec();
    const err = await c.decode(frame(999, Buffer.from([2, 0x61]))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DecodeError);
    expect((err as Error).message).toContain('unknown schema id 999');
  });

  it('rejects a corrupt body with DecodeError', async () => {
    const { codec: c } = codec();
    const bytes = await c.encode('questionAsked', loadFixture('QuestionAsked'));
    const err = await c.decode(bytes.subarray(0, 40)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DecodeError);
    expect((err as Error).message).toMatch(/cannot decode Avro body with schema id \d+ \(dialoggames\.v1\.QuestionAsked\)/);
  });

  it('decodeAs rejects another event type on the topic', async () => {
    const { codec: c } = codec();
    const bytes = await c.encode('gameRequested', loadFixture('GameRequested'));
    await expect(c.decodeAs('guessMade', bytes)).rejects.toThrow('expected GameEnded on unit.guess-made, got dialoggames.v1.GameRequested');
  });

  it('encodes and decodes dead letters with their bytes intact', async () => {
    const { codec: c } = codec();
    const letter = loadFixture('DeadLetter');
    const decoded = await c.decodeDeadLetter(await c.encodeDeadLetter(letter));
    expect(decoded).toStrictEqual(letter);
    expect(Buffer.isBuffer(decoded.value)).toBe(true);
  });

  it('passes registry outages through as retriable and retries registration later', async () => {
    const registry = new InMemorySchemaRegistry();
    const { codec: c } = codec(registry);
    jest.spyOn(registry, 'register').mockRejectedValueOnce(new SchemaRegistryError('schema registry unreachable: ECONNREFUSED'));
    const err = await c.encode('gameRequested', loadFixture('GameRequested')).catch((e: unknown) => e);
    expect((err as SchemaRegistryError).retriable).toBe(true);
    await expect(c.encode('gameRequested', loadFixture('GameRequested'))).resolves.toBeInstanceOf(Buffer);
  });

  describe('schema evolution', () => {
    const v2Schema = (() => {
      const v1 = schemas.QuestionAsked.schema;
      return { ...v1, fields: [...v1.fields, { name: 'priority', type: 'int', default: 0, doc: 'added in v2' }] };
    })();
    const v2Schemas = { ...schemas, QuestionAsked: eventSchemaFrom('QuestionAsked', v2Schema) };

    it('v1 bytes decode with a v2 reader (default filled) and v2 bytes with a v1 reader', async () => {
      const registry = new InMemorySchemaRegistry();
      const v1 = new EventCodec({ topicPrefix: 'evo.', registry });
      const v2 = new EventCodec({ topicPrefix: 'evo.', registry, schemas: v2Schemas });
      const value = loadFixture('QuestionAsked');
      const oldBytes = await v1.encode('questionAsked', value);
      const newBytes = await v2.encode('questionAsked', { ...value, priority: 5 } as never);
      expect(registry.versions('evo.question-asked-value')).toHaveLength(2);
      expect(await v2.decodeAs('questionAsked', oldBytes)).toStrictEqual({ ...value, priority: 0 });
      expect(await v1.decodeAs('questionAsked', newBytes)).toStrictEqual(value);
    });

    describe('the GuessMade → GameEnded rename (Avro alias, topic guess-made unchanged)', () => {
      // The schema as it was before the rename: record GuessMade, no alias.
      const { aliases: _aliases, ...current } = schemas.GameEnded.schema as typeof schemas.GameEnded.schema & { aliases?: string[] };
      const guessMade = eventSchemaFrom('GameEnded', { ...current, name: 'dialoggames.v1.GuessMade' });

      it('registers under BACKWARD after GuessMade, and GuessMade bytes decode as GameEnded', async () => {
        expect(schemas.GameEnded.fullName).toBe('dialoggames.v1.GameEnded');
        expect(schemas.GameEnded.type.aliases).toEqual(['dialoggames.v1.GuessMade']);
        const registry = new InMemorySchemaRegistry();
        const old = new EventCodec({ topicPrefix: 'ren.', registry, schemas: { ...schemas, GameEnded: guessMade } });
        const value = loadFixture('GameEnded');
        const oldBytes = await old.encode('guessMade', value);
        const renamed = new EventCodec({ topicPrefix: 'ren.', registry });
        const newBytes = await renamed.encode('guessMade', value);
        expect(registry.versions('ren.guess-made-value')).toHaveLength(2);
        expect(newBytes.readInt32BE(1)).not.toBe(oldBytes.readInt32BE(1));
        expect(await renamed.decodeAs('guessMade', oldBytes)).toStrictEqual(value);
        expect((await renamed.decode(oldBytes)).eventName).toBe('GameEnded');
      });

      it('would be refused without the alias', async () => {
        const registry = new InMemorySchemaRegistry();
        await new EventCodec({ topicPrefix: 'ren.', registry, schemas: { ...schemas, GameEnded: guessMade } }).registerAll();
        const noAlias = new EventCodec({ topicPrefix: 'ren.', registry, schemas: { ...schemas, GameEnded: eventSchemaFrom('GameEnded', current) } });
        const err = await noAlias.schemaIdFor('guessMade').catch((e: unknown) => e);
        expect(err).toBeInstanceOf(SchemaRegistryError);
        expect((err as Error).message).toContain('ren.guess-made-value');
      });
    });

    it('an incompatible change is refused by the registry, naming the subject', async () => {
      const registry = new InMemorySchemaRegistry();
      await new EventCodec({ topicPrefix: 'evo.', registry }).registerAll();
      const broken = { ...schemas.QuestionAsked.schema, fields: [...schemas.QuestionAsked.schema.fields, { name: 'mustHave', type: 'string' }] };
      const v3 = new EventCodec({ topicPrefix: 'evo.', registry, schemas: { ...schemas, QuestionAsked: eventSchemaFrom('QuestionAsked', broken) } });
      const err = await v3.schemaIdFor('questionAsked').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SchemaRegistryError);
      expect((err as SchemaRegistryError).retriable).toBe(false);
      expect((err as Error).message).toContain('evo.question-asked-value');
    });
  });
});
