import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../config/repo-root';

/** A parsed .avsc file: one named record per file. */
export interface AvroSchemaFile {
  /** Full name, e.g. `dialoggames.v1.GameHeader`. */
  fullName: string;
  /** Short name, e.g. `GameHeader`. */
  name: string;
  path: string;
  schema: AvroRecordSchema;
}

export interface AvroRecordSchema {
  type: 'record';
  name: string;
  namespace?: string;
  doc?: string;
  fields: Array<{ name: string; type: unknown; doc?: string; default?: unknown }>;
}

export interface AvroSchemaFiles {
  /** Named records used by events, ordered so each comes after every type it references. */
  shared: AvroSchemaFile[];
  /** One per event, sorted by name. */
  events: AvroSchemaFile[];
}

const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);

export function defaultAvroDir(): string {
  return join(repoRoot(), 'schemas', 'avro');
}

/** Reads schemas/avro/shared/*.avsc and schemas/avro/*.avsc. */
export function readAvroSchemaFiles(avroDir: string = defaultAvroDir()): AvroSchemaFiles {
  const shared = listAvsc(join(avroDir, 'shared')).map(readSchemaFile);
  const events = listAvsc(avroDir).map(readSchemaFile);
  return { shared: orderByDependencies(shared), events: events.sort((a, b) => a.name.localeCompare(b.name)) };
}

function listAvsc(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.avsc'))
    .sort()
    .map((f) => join(dir, f));
}

function readSchemaFile(path: string): AvroSchemaFile {
  const schema = JSON.parse(readFileSync(path, 'utf8')) as AvroRecordSchema;
  if (schema.type !== 'record' || typeof schema.name !== 'string') {
    throw new Error(`${path}: expected one named record per file`);
  }
  const fullName = qualify(schema.name, schema.namespace);
  return { fullName, name: shortName(fullName), path, schema };
}

export function qualify(name: string, namespace: string | undefined): string {
  return name.includes('.') || !namespace ? name : `${namespace}.${name}`;
}

export function shortName(fullName: string): string {
  return fullName.slice(fullName.lastIndexOf('.') + 1);
}

/** Full names of named types referenced (not defined) anywhere inside a schema. */
export function referencedNames(schema: unknown, namespace: string | undefined): Set<string> {
  const defined = new Set<string>();
  const referenced = new Set<string>();
  const visit = (node: unknown, ns: string | undefined): void => {
    if (typeof node === 'string') {
      if (!PRIMITIVES.has(node)) referenced.add(qualify(node, ns));
    } else if (Array.isArray(node)) {
      node.forEach((branch) => visit(branch, ns));
    } else if (node && typeof node === 'object') {
      const obj = node as Record<string, unknown>;
      let innerNs = ns;
      if (typeof obj.name === 'string' && (obj.type === 'record' || obj.type === 'enum' || obj.type === 'fixed')) {
        const full = qualify(obj.name, typeof obj.namespace === 'string' ? obj.namespace : ns);
        defined.add(full);
        innerNs = full.includes('.') ? full.slice(0, full.lastIndexOf('.')) : undefined;
      }
      if (obj.type === 'record' || obj.type === 'error') {
        for (const field of obj.fields as Array<{ type: unknown }>) visit(field.type, innerNs);
      } else if (obj.type === 'array') {
        visit(obj.items, ns);
      } else if (obj.type === 'map') {
        visit(obj.values, ns);
      } else if (typeof obj.type !== 'string' || !['enum', 'fixed'].includes(obj.type)) {
        visit(obj.type, ns);
      }
    }
  };
  visit(schema, namespace);
  for (const name of defined) referenced.delete(name);
  return referenced;
}

function orderByDependencies(files: AvroSchemaFile[]): AvroSchemaFile[] {
  const byName = new Map(files.map((f) => [f.fullName, f]));
  const ordered: AvroSchemaFile[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (file: AvroSchemaFile, chain: string[]): void => {
    const seen = state.get(file.fullName);
    if (seen === 'done') return;
    if (seen === 'visiting') throw new Error(`cyclic schema references: ${[...chain, file.fullName].join(' -> ')}`);
    state.set(file.fullName, 'visiting');
    for (const dep of [...referencedNames(file.schema, file.schema.namespace)].sort()) {
      const depFile = byName.get(dep);
      // Names defined inside other shared files are not standalone; avsc resolves them via the registry.
      if (depFile) visit(depFile, [...chain, file.fullName]);
    }
    state.set(file.fullName, 'done');
    ordered.push(file);
  };
  [...files].sort((a, b) => a.fullName.localeCompare(b.fullName)).forEach((f) => visit(f, []));
  return ordered;
}
