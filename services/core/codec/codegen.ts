import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from '../config/repo-root';
import { AvroSchemaFile, AvroSchemaFiles, qualify, readAvroSchemaFiles, shortName } from './schema-files';

/**
 * Generates schemas/generated/events.ts from the .avsc files: the .avsc files are the source of
 * truth and TypeScript types are never declared by hand. Output is deterministic so a stale file
 * can be detected by comparing strings.
 */

export const GENERATED_HEADER = '// generated — do not edit. Source: schemas/avro/**/*.avsc; regenerate with `npm run generate:types`.';

type Declaration =
  | {
      kind: 'record';
      fullName: string;
      doc?: string;
      aliases?: string[];
      fields: Array<{ name: string; type: unknown; doc?: string; default?: unknown; hasDefault: boolean; ns: string | undefined }>;
    }
  | { kind: 'enum'; fullName: string; doc?: string; symbols: string[] }
  | { kind: 'fixed'; fullName: string; doc?: string; size: number };

const NUMERIC = new Set(['int', 'long', 'float', 'double']);

export function defaultGeneratedPath(): string {
  return join(repoRoot(), 'schemas', 'generated', 'events.ts');
}

export function generateEventTypes(files: AvroSchemaFiles = readAvroSchemaFiles()): string {
  const declarations = new Map<string, Declaration>();
  for (const file of [...files.shared, ...files.events]) collectDeclarations(file.schema, file.schema.namespace, declarations);
  checkShortNamesUnique([...declarations.keys()]);
  const known = new Set(declarations.keys());
  const lines: string[] = [GENERATED_HEADER, ''];
  for (const decl of declarations.values()) {
    lines.push(...renderDeclaration(decl, known), '');
  }
  lines.push(...renderEventIndex(files.events));
  return lines.join('\n') + '\n';
}

export interface CodegenResult {
  path: string;
  changed: boolean;
}

/** Writes the generated file; with `check` only compares and reports whether it is stale. */
export function runCodegen(opts: { check?: boolean; outPath?: string; avroDir?: string } = {}): CodegenResult {
  const path = opts.outPath ?? defaultGeneratedPath();
  const expected = generateEventTypes(readAvroSchemaFiles(opts.avroDir));
  let current: string | undefined;
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    current = undefined;
  }
  const changed = current !== expected;
  if (changed && !opts.check) writeFileSync(path, expected);
  return { path: relative(process.cwd(), path) || path, changed };
}

function collectDeclarations(node: unknown, ns: string | undefined, out: Map<string, Declaration>): void {
  if (Array.isArray(node)) {
    node.forEach((branch) => collectDeclarations(branch, ns, out));
    return;
  }
  if (!node || typeof node !== 'object') return;
  const obj = node as Record<string, unknown>;
  const doc = typeof obj.doc === 'string' ? obj.doc : undefined;
  if (obj.type === 'record' || obj.type === 'enum' || obj.type === 'fixed') {
    const fullName = qualify(String(obj.name), typeof obj.namespace === 'string' ? obj.namespace : ns);
    if (out.has(fullName)) return;
    const innerNs = fullName.includes('.') ? fullName.slice(0, fullName.lastIndexOf('.')) : undefined;
    if (obj.type === 'enum') {
      out.set(fullName, { kind: 'enum', fullName, doc, symbols: obj.symbols as string[] });
    } else if (obj.type === 'fixed') {
      out.set(fullName, { kind: 'fixed', fullName, doc, size: Number(obj.size) });
    } else {
      const fields = (obj.fields as Array<Record<string, unknown>>).map((f) => ({
        name: String(f.name),
        type: f.type,
        doc: typeof f.doc === 'string' ? f.doc : undefined,
        default: f.default,
        hasDefault: 'default' in f,
        ns: innerNs,
      }));
      const aliases = Array.isArray(obj.aliases) ? (obj.aliases as string[]) : undefined;
      out.set(fullName, { kind: 'record', fullName, doc, fields, ...(aliases ? { aliases } : {}) });
      for (const field of fields) collectDeclarations(field.type, innerNs, out);
    }
    return;
  }
  if (obj.type === 'array') collectDeclarations(obj.items, ns, out);
  else if (obj.type === 'map') collectDeclarations(obj.values, ns, out);
  else if (typeof obj.type === 'object') collectDeclarations(obj.type, ns, out);
}

function checkShortNamesUnique(fullNames: string[]): void {
  const seen = new Map<string, string>();
  for (const full of fullNames) {
    const short = shortName(full);
    const other = seen.get(short);
    if (other) throw new Error(`two Avro types share the TypeScript name ${short}: ${other} and ${full}`);
    seen.set(short, full);
  }
}

function tsType(node: unknown, ns: string | undefined, known: Set<string>): string {
  if (typeof node === 'string') {
    switch (node) {
      case 'null':
        return 'null';
      case 'boolean':
        return 'boolean';
      case 'string':
        return 'string';
      case 'bytes':
        return 'Buffer';
      default:
        if (NUMERIC.has(node)) return 'number';
        {
          const full = qualify(node, ns);
          if (!known.has(full)) throw new Error(`unknown Avro type ${full}`);
          return shortName(full);
        }
    }
  }
  if (Array.isArray(node)) {
    const branches = node.map((branch) => tsType(branch, ns, known));
    // Keep null last so optional fields read as `T | null`.
    const nonNull = branches.filter((b) => b !== 'null');
    const ordered = nonNull.length < branches.length ? [...nonNull, 'null'] : branches;
    return ordered.map((b) => (b.includes('=>') ? `(${b})` : b)).join(' | ');
  }
  const obj = node as Record<string, unknown>;
  if (obj.type === 'record' || obj.type === 'enum' || obj.type === 'fixed') {
    return shortName(qualify(String(obj.name), typeof obj.namespace === 'string' ? obj.namespace : ns));
  }
  if (obj.type === 'array') {
    const item = tsType(obj.items, ns, known);
    return /[ |]/.test(item) ? `Array<${item}>` : `${item}[]`;
  }
  if (obj.type === 'map') return `Record<string, ${tsType(obj.values, ns, known)}>`;
  return tsType(obj.type, ns, known);
}

function renderDoc(indent: string, doc: string | undefined, extra: string[] = []): string[] {
  const parts = [...(doc ? doc.split('\n') : []), ...extra].map((line) => line.replace(/\*\//g, '*\\/'));
  if (parts.length === 0) return [];
  if (parts.length === 1) return [`${indent}/** ${parts[0]} */`];
  return [`${indent}/**`, ...parts.map((p) => `${indent} * ${p}`), `${indent} */`];
}

function quote(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function propertyName(name: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : quote(name);
}

function renderDeclaration(decl: Declaration, known: Set<string>): string[] {
  const name = shortName(decl.fullName);
  const avroNote = `Avro: ${decl.fullName}`;
  if (decl.kind === 'enum') {
    const union = decl.symbols.map(quote).join(' | ');
    return [
      ...renderDoc('', decl.doc, [avroNote]),
      `export type ${name} = ${union};`,
      `export const ${name}Symbols = [${decl.symbols.map(quote).join(', ')}] as const satisfies readonly ${name}[];`,
    ];
  }
  if (decl.kind === 'fixed') {
    return [...renderDoc('', decl.doc, [`${avroNote} (fixed, ${decl.size} bytes)`]), `export type ${name} = Buffer;`];
  }
  const lines = [...renderDoc('', decl.doc, [avroNote]), `export interface ${name} {`];
  for (const field of decl.fields) {
    const extra = field.hasDefault ? [`Default: ${JSON.stringify(field.default)}`] : [];
    lines.push(...renderDoc('  ', field.doc, extra));
    lines.push(`  ${propertyName(field.name)}: ${tsType(field.type, field.ns, known)};`);
  }
  lines.push('}');
  // A renamed record keeps its old names as Avro aliases; the old TypeScript name stays usable.
  for (const alias of decl.aliases ?? []) {
    lines.push('', `/** @deprecated Former name of ${name} (an Avro alias of ${decl.fullName}). */`, `export type ${shortName(alias)} = ${name};`);
  }
  return lines;
}

function renderEventIndex(events: AvroSchemaFile[]): string[] {
  const names = events.map((e) => e.name);
  return [
    '/** Every event type that travels on a topic, by name. */',
    'export interface EventTypes {',
    ...names.map((n) => `  ${n}: ${n};`),
    '}',
    '',
    'export type EventName = keyof EventTypes;',
    '',
    `export const EventNames = [${names.map(quote).join(', ')}] as const satisfies readonly EventName[];`,
    '',
    '/** Avro full name of each event (what the registered schema is called). */',
    'export const EventFullNames: Readonly<Record<EventName, string>> = {',
    ...events.map((e) => `  ${e.name}: ${quote(e.fullName)},`),
    '};',
  ];
}
