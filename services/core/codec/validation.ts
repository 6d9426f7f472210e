import type * as avro from 'avsc';
import { FieldIssue, SchemaValidationError } from '../errors/errors';

/**
 * Every problem in `value` against `type`, by dotted field path (array items by index), e.g.
 * `game.header.iteration: expected int, got "3"`. Undeclared fields count as problems: a typo
 * would otherwise be dropped silently on encode.
 */
export function validationIssues(type: avro.Type, value: unknown): FieldIssue[] {
  const issues: FieldIssue[] = [];
  type.isValid(value, {
    errorHook: (path: string[], actual: unknown, failedType: avro.Type) => {
      issues.push({ path: path.join('.'), message: describeProblem(failedType, actual) });
    },
  });
  // avsc stops at the first record with undeclared fields, so those are collected by a separate walk.
  collectUndeclaredFields(type, value, [], issues);
  return issues;
}

function collectUndeclaredFields(type: avro.Type, value: unknown, path: string[], issues: FieldIssue[]): void {
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return;
  switch (type.typeName) {
    case 'record':
    case 'error': {
      if (Array.isArray(value)) return;
      const fields = (type as avro.types.RecordType).fields;
      const declared = new Set(fields.map((f) => f.name));
      const unknown = Object.keys(value).filter((k) => !declared.has(k) && (value as Record<string, unknown>)[k] !== undefined);
      if (unknown.length > 0) {
        issues.push({ path: path.join('.'), message: `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (not in ${describeType(type)})` });
      }
      for (const field of fields) collectUndeclaredFields(field.type, (value as Record<string, unknown>)[field.name], [...path, field.name], issues);
      return;
    }
    case 'array':
      if (Array.isArray(value))
        value.forEach((item, i) => collectUndeclaredFields((type as avro.types.ArrayType).itemsType, item, [...path, String(i)], issues));
      return;
    case 'map':
      if (!Array.isArray(value)) {
        for (const [key, item] of Object.entries(value)) collectUndeclaredFields((type as avro.types.MapType).valuesType, item, [...path, key], issues);
      }
      return;
    case 'union:unwrapped': {
      const wanted = Array.isArray(value) ? ['array'] : ['record', 'error', 'map'];
      const branch = (type as avro.types.UnwrappedUnionType).types.find((t) => wanted.includes(t.typeName));
      if (branch) collectUndeclaredFields(branch, value, path, issues);
      return;
    }
    default:
      return;
  }
}

export function assertValid(type: avro.Type, value: unknown, schemaName: string = type.name ?? 'value'): void {
  // Fast path for the common case: avsc's own check (undeclared fields included) collects nothing.
  // Only a value it rejects pays for the diagnostic walk that names every bad path.
  if (type.isValid(value, { noUndeclaredFields: true })) return;
  const issues = validationIssues(type, value);
  if (issues.length > 0) throw new SchemaValidationError(shortName(schemaName), issues);
}

function describeProblem(type: avro.Type, actual: unknown): string {
  if (actual === undefined) return `missing (expected ${describeType(type)})`;
  return `expected ${describeType(type)}, got ${preview(actual)}`;
}

function describeType(type: avro.Type): string {
  switch (type.typeName) {
    case 'record':
    case 'error':
      return `record ${shortName(type.name ?? '')}`;
    case 'enum':
      return `one of ${(type as avro.types.EnumType).symbols.join('|')}`;
    case 'array':
      return `array of ${describeType((type as avro.types.ArrayType).itemsType)}`;
    case 'map':
      return `map of ${describeType((type as avro.types.MapType).valuesType)}`;
    case 'union:unwrapped':
    case 'union:wrapped':
      return (type as avro.types.UnwrappedUnionType).types.map(describeType).join(' | ');
    case 'int':
      return 'int (32-bit integer)';
    case 'long':
      return 'long (safe integer)';
    case 'bytes':
      return 'bytes (Buffer)';
    case 'fixed':
      return `fixed ${(type as avro.types.FixedType).size} bytes (Buffer)`;
    default:
      return type.typeName;
  }
}

function preview(value: unknown): string {
  if (value === null) return 'null';
  if (Buffer.isBuffer(value)) return `Buffer(${value.length})`;
  if (Array.isArray(value)) return `array(${value.length})`;
  if (typeof value === 'object') return 'object';
  if (typeof value === 'bigint') return `${value}n`;
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function shortName(fullName: string): string {
  return fullName.slice(fullName.lastIndexOf('.') + 1);
}
