import type * as avro from 'avsc';
import { DeadLetter, EventName, EventTypes } from '../../../schemas/generated/events';
import { subjectFor, TOPIC_KEYS, TopicEvent, topicName, TopicKey, TOPICS } from '../../../schemas/topics';
import type { DgConfig } from '../config/config';
import { DecodeError, SchemaRegistryError } from '../errors/errors';
import { HttpSchemaRegistryClient, SchemaRegistryClient, SUBJECT_COMPATIBILITY } from './registry-client';
import { EventSchema, EventSchemas, loadEventSchemas } from './schemas';
import { assertValid } from './validation';
import { encodeFramed, unframe } from './wire';

export interface EventCodecOptions {
  topicPrefix: string;
  /** Confluent-compatible API base, e.g. http://127.0.0.1:8081/apis/ccompat/v7 (ignored when `registry` is given). */
  registryUrl?: string;
  /** Injected registry, e.g. InMemorySchemaRegistry in unit tests. */
  registry?: SchemaRegistryClient;
  /** Reader schemas; default: the .avsc files of this checkout. */
  schemas?: EventSchemas;
  clientId?: string;
  requestTimeoutMs?: number;
}

export interface DecodedMessage {
  /** Plain data (no avsc record classes), resolved into our reader schema when the writer is a known event. */
  value: unknown;
  schemaId: number;
  /** Known event the writer schema belongs to (by Avro full name); undefined for foreign schemas. */
  eventName: EventName | undefined;
  writerFullName: string | undefined;
}

interface WriterEntry {
  writer: avro.Type;
  eventName: EventName | undefined;
  read: (body: Buffer) => unknown;
  /** toPlain for what `read` returns. */
  plain: (value: unknown) => unknown;
}

/**
 * THE codec: the only way across the wire. Registers each topic's value schema under
 * `<topic>-value` with BACKWARD compatibility, validates values before encoding (errors name every
 * bad field path) and frames them in the Confluent wire format; decodes any framed message by
 * fetching its writer schema and resolving it into our reader schema.
 */
export class EventCodec {
  readonly topicPrefix: string;
  readonly registry: SchemaRegistryClient;
  private readonly schemas: EventSchemas;
  private readonly byFullName: Map<string, EventSchema>;
  private readonly schemaIds = new Map<TopicKey, Promise<number>>();
  private readonly writers = new Map<number, Promise<WriterEntry>>();

  constructor(options: EventCodecOptions) {
    this.topicPrefix = options.topicPrefix;
    this.schemas = options.schemas ?? loadEventSchemas();
    // Also by Avro alias: records written under a schema's former name (e.g. GuessMade, now GameEnded) resolve to it.
    this.byFullName = new Map(Object.values(this.schemas).flatMap((s) => [s.fullName, ...(s.type.aliases ?? [])].map((name) => [name, s] as const)));
    if (options.registry) {
      this.registry = options.registry;
    } else if (options.registryUrl) {
      this.registry = new HttpSchemaRegistryClient({ url: options.registryUrl, clientId: options.clientId, requestTimeoutMs: options.requestTimeoutMs });
    } else {
      throw new TypeError('EventCodec needs registryUrl or registry');
    }
  }

  static fromConfig(config: DgConfig, options: Partial<EventCodecOptions> = {}): EventCodec {
    return new EventCodec({ registryUrl: config.schemaRegistry.url, topicPrefix: config.topics.prefix, clientId: config.kafka.clientId, ...options });
  }

  topicName(key: TopicKey): string {
    return topicName(key, this.topicPrefix);
  }

  subject(key: TopicKey): string {
    return subjectFor(this.topicName(key));
  }

  eventSchema(name: EventName): EventSchema {
    return this.schemas[name];
  }

  /** Registers every topic's value schema; returns schema ids by topic key. Safe to call again. */
  async registerAll(): Promise<Record<TopicKey, number>> {
    const ids = await Promise.all(TOPIC_KEYS.map((key) => this.schemaIdFor(key)));
    return Object.fromEntries(TOPIC_KEYS.map((key, i) => [key, ids[i]])) as Record<TopicKey, number>;
  }

  /** Schema id of a topic's value schema, registering it on first use (memoised; failures are not). */
  schemaIdFor(key: TopicKey): Promise<number> {
    let pending = this.schemaIds.get(key);
    if (!pending) {
      pending = this.registerTopic(key);
      pending.catch(() => this.schemaIds.delete(key));
      this.schemaIds.set(key, pending);
    }
    return pending;
  }

  /** Throws SchemaValidationError naming every bad field path. */
  validate<N extends EventName>(eventName: N, value: EventTypes[N]): void {
    assertValid(this.schemas[eventName].type, value, eventName);
  }

  async encode<K extends TopicKey>(key: K, value: TopicEvent<K>): Promise<Buffer> {
    const eventName = TOPICS[key].valueEvent;
    this.validate(eventName, value as EventTypes[typeof eventName]);
    const schemaId = await this.schemaIdFor(key);
    return encodeFramed(schemaId, this.schemas[eventName].type, value);
  }

  encodeDeadLetter(value: DeadLetter): Promise<Buffer> {
    return this.encode('deadLetter', value);
  }

  /**
   * Decodes any Confluent-framed Avro message. DecodeError (non-retriable) for bad framing, unknown
   * schema ids and corrupt bodies; SchemaRegistryError (retriable) when the registry cannot be reached.
   */
  async decode(message: Buffer | null | undefined): Promise<DecodedMessage> {
    const { schemaId, body } = unframe(message);
    const entry = await this.writerEntry(schemaId);
    let value: unknown;
    try {
      value = entry.read(body);
    } catch (err) {
      throw new DecodeError(`cannot decode Avro body with schema id ${schemaId} (${entry.writer.name ?? 'unnamed'}): ${(err as Error).message}`, {
        cause: err,
      });
    }
    return { value: entry.plain(value), schemaId, eventName: entry.eventName, writerFullName: entry.writer.name };
  }

  /** Decodes and checks that the message carries the topic's event type (DecodeError otherwise). */
  async decodeAs<K extends TopicKey>(key: K, message: Buffer | null | undefined): Promise<TopicEvent<K>> {
    const decoded = await this.decode(message);
    const expected = TOPICS[key].valueEvent;
    if (decoded.eventName !== expected) {
      throw new DecodeError(
        `expected ${expected} on ${this.topicName(key)}, got ${decoded.writerFullName ?? 'an unnamed schema'} (schema id ${decoded.schemaId})`,
      );
    }
    return decoded.value as TopicEvent<K>;
  }

  decodeDeadLetter(message: Buffer | null | undefined): Promise<DeadLetter> {
    return this.decodeAs('deadLetter', message);
  }

  private async registerTopic(key: TopicKey): Promise<number> {
    const subject = this.subject(key);
    const event = this.schemas[TOPICS[key].valueEvent];
    await this.registry.setCompatibility(subject, SUBJECT_COMPATIBILITY);
    return this.registry.register(subject, event.schema, SUBJECT_COMPATIBILITY);
  }

  private writerEntry(schemaId: number): Promise<WriterEntry> {
    let pending = this.writers.get(schemaId);
    if (!pending) {
      pending = this.fetchWriter(schemaId);
      // Only answers are cached: a registry outage must not poison the id.
      pending.catch(() => this.writers.delete(schemaId));
      this.writers.set(schemaId, pending);
    }
    return pending;
  }

  private async fetchWriter(schemaId: number): Promise<WriterEntry> {
    let writer: avro.Type;
    try {
      writer = await this.registry.getSchema(schemaId);
    } catch (err) {
      if (err instanceof SchemaRegistryError && err.status === 404)
        throw new DecodeError(`unknown schema id ${schemaId}: the registry has no such schema`, { cause: err });
      throw err;
    }
    if (typeof (writer as { fromBuffer?: unknown }).fromBuffer !== 'function' || typeof writer.name !== 'string') {
      throw new DecodeError(`schema id ${schemaId} is not a named Avro schema`);
    }
    const known = this.byFullName.get(writer.name);
    if (!known) return { writer, eventName: undefined, read: (body) => writer.fromBuffer(body), plain: toPlain };
    const plain = plainConverter(known.type);
    if (known.type.equals(writer)) return { writer, eventName: known.name, read: (body) => known.type.fromBuffer(body), plain };
    let resolver: avro.Resolver;
    try {
      resolver = known.type.createResolver(writer);
    } catch (err) {
      throw new DecodeError(`schema id ${schemaId} (${writer.name}) cannot be read as our ${known.name} schema: ${(err as Error).message}`, { cause: err });
    }
    return { writer, eventName: known.name, read: (body) => known.type.fromBuffer(body, resolver), plain };
  }
}

/** avsc decodes records into generated classes; callers get plain objects so equality and spreading behave. */
export function toPlain(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  if (Array.isArray(value)) return value.map(toPlain);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = toPlain((value as Record<string, unknown>)[key]);
  return out;
}

type Converter = (value: unknown) => unknown;
const identity: Converter = (value) => value;
const plainConverters = new WeakMap<avro.Type, Converter>();

/**
 * toPlain specialised to what `type` decodes into (same result, several times faster): records
 * become object literals built field by field in schema order, arrays and maps of values that need
 * no conversion are kept as avsc built them (fresh objects nobody else holds), unions with one
 * non-null branch convert that branch, and anything else falls back to toPlain. Memoised per type.
 */
export function plainConverter(type: avro.Type): Converter {
  const known = plainConverters.get(type);
  if (known) return known;
  // A recursive schema reaches this type again while its fields compile: they call through this.
  let compiled: Converter = toPlain;
  plainConverters.set(type, (value) => compiled(value));
  compiled = compileConverter(type);
  plainConverters.set(type, compiled);
  return compiled;
}

function compileConverter(type: avro.Type): Converter {
  const t = type as avro.Type & {
    typeName: string;
    fields?: Array<{ name: string; type: avro.Type }>;
    itemsType?: avro.Type;
    valuesType?: avro.Type;
    types?: avro.Type[];
  };
  switch (t.typeName) {
    case 'null':
    case 'boolean':
    case 'int':
    case 'long':
    case 'float':
    case 'double':
    case 'bytes':
    case 'string':
    case 'enum':
    case 'fixed':
      return identity;
    case 'record':
    case 'error': {
      const fields = t.fields!;
      const converters = fields.map((f) => plainConverter(f.type));
      const parts = fields.map((f, i) => {
        const name = JSON.stringify(f.name);
        return converters[i] === identity ? `${name}: v[${name}]` : `${name}: c[${i}](v[${name}])`;
      });
      // Field names are Avro names ([A-Za-z_][A-Za-z0-9_]*), quoted anyway.
      const record = new Function('c', `return function plain(v) { return v === null || v === undefined ? v : { ${parts.join(', ')} }; };`)(
        converters,
      ) as Converter;
      return record;
    }
    case 'array': {
      const items = plainConverter(t.itemsType!);
      if (items === identity) return identity;
      return (value) => {
        if (!Array.isArray(value)) return toPlain(value);
        for (let i = 0; i < value.length; i++) value[i] = items(value[i]);
        return value;
      };
    }
    case 'map': {
      const values = plainConverter(t.valuesType!);
      if (values === identity) return identity;
      return (value) => {
        if (value === null || typeof value !== 'object') return value;
        const map = value as Record<string, unknown>;
        for (const key of Object.keys(map)) map[key] = values(map[key]);
        return map;
      };
    }
    case 'union:unwrapped': {
      const branches = t.types!.filter((b) => (b as unknown as { typeName: string }).typeName !== 'null');
      if (branches.length !== 1 || branches.length === t.types!.length) return toPlain;
      const branch = plainConverter(branches[0]!);
      if (branch === identity) return identity;
      return (value) => (value === null ? null : branch(value));
    }
    default:
      return toPlain;
  }
}
