import * as avro from 'avsc';
import { EventName, EventNames } from '../../../schemas/generated/events';
import { AvroRecordSchema, readAvroSchemaFiles } from './schema-files';

/** One event's Avro type and the self-contained schema registered for it (shared types inlined). */
export interface EventSchema {
  name: EventName;
  /** Avro full name, e.g. `dialoggames.v1.GameRequested`. */
  fullName: string;
  type: avro.Type;
  /** JSON schema with every named type it uses inlined, docs and defaults kept. */
  schema: AvroRecordSchema;
}

export type EventSchemas = Readonly<Record<EventName, EventSchema>>;

let cached: EventSchemas | undefined;

/**
 * Parses schemas/avro: shared named records into one avsc registry in dependency order, then each
 * event against a copy of it. Cached for the default directory.
 */
export function loadEventSchemas(avroDir?: string): EventSchemas {
  if (avroDir === undefined && cached) return cached;
  const files = readAvroSchemaFiles(avroDir);
  const shared: Record<string, avro.Type> = {};
  for (const file of files.shared) avro.Type.forSchema(file.schema as avro.Schema, { registry: shared });
  const loaded = {} as Record<EventName, EventSchema>;
  for (const file of files.events) {
    if (!(EventNames as readonly string[]).includes(file.name)) {
      throw new Error(`${file.path}: event ${file.name} is not in schemas/generated/events.ts; run \`npm run generate:types\``);
    }
    loaded[file.name as EventName] = eventSchemaFrom(file.name as EventName, file.schema, { ...shared });
  }
  const missing = EventNames.filter((name) => !loaded[name]);
  if (missing.length > 0) throw new Error(`no .avsc file for events ${missing.join(', ')}`);
  const result = Object.freeze(loaded);
  if (avroDir === undefined) cached = result;
  return result;
}

/** Builds an EventSchema from a schema that may reference named types already in `registry`. */
export function eventSchemaFrom(name: EventName, schema: object, registry: Record<string, avro.Type> = {}): EventSchema {
  const type = avro.Type.forSchema(schema as avro.Schema, { registry });
  if (!type.name) throw new Error(`event ${name}: schema must be a named record`);
  return { name, fullName: type.name, type, schema: type.schema({ exportAttrs: true }) as AvroRecordSchema };
}
