import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import * as avro from 'avsc';
import { DgError, isRetriable, SchemaRegistryError } from '../errors/errors';

/** Compatibility every subject of ours is registered under. */
export const SUBJECT_COMPATIBILITY = COMPATIBILITY.BACKWARD;

/**
 * What the codec needs from a schema registry. Failures are SchemaRegistryError: `status` 404 for
 * unknown ids, 409 for incompatible schemas, no status (retriable) when unreachable.
 */
export interface SchemaRegistryClient {
  /** Sets the subject's compatibility level (allowed before the subject exists). */
  setCompatibility(subject: string, level: COMPATIBILITY): Promise<void>;
  /** Registers (or finds) the schema under the subject; returns its global id. */
  register(subject: string, schema: object, level: COMPATIBILITY): Promise<number>;
  /** The writer schema of an id, parsed. */
  getSchema(id: number): Promise<avro.Type>;
}

const REGISTRY_CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';
const NETWORK_FAILURE = /\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|ENOTFOUND|EPIPE|socket hang up)\b/i;

/** Confluent-compatible REST registry (Confluent, Apicurio ccompat) through @kafkajs/confluent-schema-registry. */
export class HttpSchemaRegistryClient implements SchemaRegistryClient {
  readonly url: string;
  private readonly registry: SchemaRegistry;
  private readonly requestTimeoutMs: number;

  constructor(options: { url: string; clientId?: string; requestTimeoutMs?: number }) {
    this.url = options.url.replace(/\/+$/, '');
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.registry = new SchemaRegistry({ host: this.url, clientId: options.clientId ?? 'dialog-games' });
  }

  /**
   * Done by hand: the library sets compatibility only when it registers a brand-new subject, and
   * refuses to register when an existing subject has another level. Apicurio accepts PUT /config
   * for a subject that has no versions yet. Processes starting together on a fresh registry race to
   * create the subject's rule, and Apicurio answers the losers 409 ("rule already exists"): the rule
   * exists by then, so one more PUT takes the update path.
   */
  async setCompatibility(subject: string, level: COMPATIBILITY): Promise<void> {
    const action = `setting ${level} compatibility on subject ${subject}`;
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      try {
        response = await fetch(`${this.url}/config/${encodeURIComponent(subject)}`, {
          method: 'PUT',
          headers: { 'Content-Type': REGISTRY_CONTENT_TYPE, Accept: REGISTRY_CONTENT_TYPE },
          body: JSON.stringify({ compatibility: level }),
          signal: AbortSignal.timeout(this.requestTimeoutMs),
        });
      } catch (err) {
        throw new SchemaRegistryError(`${action}: schema registry at ${this.url} unreachable: ${(err as Error).message}`, { cause: err, subject });
      }
      if (response.ok) return;
      const text = await response.text().catch(() => '');
      if (response.status === 409 && attempt < 3) continue;
      throw new SchemaRegistryError(`${action} failed: HTTP ${response.status} ${text}`.trim(), { status: response.status, subject });
    }
  }

  /**
   * Apicurio answers 409 "artifact ... already exists" (not an incompatibility) to the losers of
   * concurrent first registrations of a subject; the subject exists by then, so registering again
   * finds or adds the version.
   */
  async register(subject: string, schema: object, level: COMPATIBILITY): Promise<number> {
    const action = `registering ${(schema as { name?: string }).name ?? 'schema'} under subject ${subject}`;
    for (let attempt = 1; ; attempt++) {
      try {
        const { id } = await this.withTimeout(
          action,
          this.registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(schema) }, { subject, compatibility: level }),
        );
        return id;
      } catch (err) {
        const lostCreationRace = (err as { status?: unknown } | null)?.status === 409 && /already exists/i.test((err as Error)?.message ?? '');
        if (lostCreationRace && attempt < 3) continue;
        throw this.mapError(err, action, subject, level);
      }
    }
  }

  async getSchema(id: number): Promise<avro.Type> {
    const action = `fetching schema id ${id}`;
    try {
      return (await this.withTimeout(action, this.registry.getSchema(id))) as unknown as avro.Type;
    } catch (err) {
      throw this.mapError(err, action);
    }
  }

  private async withTimeout<T>(action: string, work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new SchemaRegistryError(`${action}: no answer from ${this.url} within ${this.requestTimeoutMs} ms`)),
        this.requestTimeoutMs,
      );
    });
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The library's HTTP layer (mappersmith) reports socket failures as HTTP 400 responses carrying
   * the socket error as message, so those are recognised by message and marked unreachable.
   */
  private mapError(err: unknown, action: string, subject?: string, level?: COMPATIBILITY): DgError {
    if (err instanceof DgError) return err;
    const message = err instanceof Error ? err.message : String(err);
    const rawStatus = (err as { status?: unknown } | null)?.status;
    const status = typeof rawStatus === 'number' ? rawStatus : undefined;
    const subjectOption = subject === undefined ? {} : { subject };
    if (NETWORK_FAILURE.test(message) || (status === undefined && isRetriable(err))) {
      return new SchemaRegistryError(`${action}: schema registry at ${this.url} unreachable: ${message}`, { cause: err, ...subjectOption });
    }
    if (status === undefined) return new SchemaRegistryError(`${action} failed: ${message}`, { cause: err, retriable: false, ...subjectOption });
    const hint = status === 409 ? ` (incompatible with the versions already registered${level ? `, compatibility ${level}` : ''})` : '';
    return new SchemaRegistryError(`${action} failed${hint}: HTTP ${status}: ${message}`, { cause: err, status, ...subjectOption });
  }
}

/**
 * A registry in memory for unit tests (no network): global ids by schema content, per-subject
 * versions, BACKWARD checks against the latest version by avsc schema resolution.
 */
export class InMemorySchemaRegistry implements SchemaRegistryClient {
  private readonly ids = new Map<string, number>();
  private readonly types = new Map<number, avro.Type>();
  private readonly subjects = new Map<string, number[]>();
  private readonly compatibility = new Map<string, COMPATIBILITY>();

  async setCompatibility(subject: string, level: COMPATIBILITY): Promise<void> {
    this.compatibility.set(subject, level);
  }

  async register(subject: string, schema: object, level: COMPATIBILITY): Promise<number> {
    if (!this.compatibility.has(subject)) this.compatibility.set(subject, level);
    const text = JSON.stringify(schema);
    const type = avro.Type.forSchema(schema as avro.Schema);
    const versions = this.subjects.get(subject) ?? [];
    const existing = this.ids.get(text);
    if (existing !== undefined && versions.includes(existing)) return existing;
    const latest = versions.length > 0 ? this.types.get(versions[versions.length - 1]) : undefined;
    if (latest && this.compatibility.get(subject) === COMPATIBILITY.BACKWARD) {
      try {
        type.createResolver(latest);
      } catch (err) {
        throw new SchemaRegistryError(
          `registering under subject ${subject} failed (incompatible with the versions already registered): ${(err as Error).message}`,
          { status: 409, subject },
        );
      }
    }
    const id = existing ?? this.ids.size + 1;
    this.ids.set(text, id);
    this.types.set(id, type);
    this.subjects.set(subject, [...versions, id]);
    return id;
  }

  async getSchema(id: number): Promise<avro.Type> {
    const type = this.types.get(id);
    if (!type) throw new SchemaRegistryError(`schema id ${id} not found`, { status: 404 });
    return type;
  }

  /** Registered ids per subject, oldest first. */
  versions(subject: string): number[] {
    return [...(this.subjects.get(subject) ?? [])];
  }

  compatibilityOf(subject: string): COMPATIBILITY | undefined {
    return this.compatibility.get(subject);
  }
}
