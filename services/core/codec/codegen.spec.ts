import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultGeneratedPath, generateEventTypes, GENERATED_HEADER, runCodegen } from './codegen';
import { readAvroSchemaFiles } from './schema-files';

function writeAvroTree(files: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'dg-codegen-'));
  mkdirSync(join(dir, 'shared'));
  for (const [path, schema] of Object.entries(files)) writeFileSync(join(dir, path), JSON.stringify(schema));
  return dir;
}

describe('codegen', () => {
  it('committed schemas/generated/events.ts matches the .avsc files (run `npm run generate:types` when this fails)', () => {
    expect(readFileSync(defaultGeneratedPath(), 'utf8')).toBe(generateEventTypes());
  });

  it('orders shared types so every type follows the types it references', () => {
    const names = readAvroSchemaFiles().shared.map((f) => f.name);
    expect(names.indexOf('ImageRef')).toBeLessThan(names.indexOf('GameSetup'));
    expect(names.indexOf('ModelSpec')).toBeLessThan(names.indexOf('GameSetup'));
    expect(names.indexOf('GameSetup')).toBeLessThan(names.indexOf('GameState'));
    expect(names.indexOf('Turn')).toBeLessThan(names.indexOf('GameState'));
  });

  describe('type mapping', () => {
    const avroDir = writeAvroTree({
      'shared/Thing.avsc': {
        type: 'record',
        name: 'Thing',
        namespace: 'test.v1',
        doc: 'A thing.',
        fields: [
          { name: 'id', type: 'string', doc: 'The id.' },
          { name: 'count', type: 'long' },
          { name: 'ratio', type: 'float' },
          { name: 'blob', type: 'bytes' },
          { name: 'maybe', type: ['null', 'int'], default: null },
          { name: 'color', type: { type: 'enum', name: 'Color', symbols: ['red', 'green'] } },
          { name: 'tags', type: { type: 'array', items: 'string' }, default: [] },
          { name: 'byName', type: { type: 'map', values: 'double' } },
          { name: 'maybeColors', type: { type: 'array', items: ['null', 'Color'] } },
        ],
      },
      'Happened.avsc': {
        type: 'record',
        name: 'Happened',
        namespace: 'test.v1',
        fields: [
          { name: 'thing', type: 'test.v1.Thing' },
          { name: 'previous', type: ['null', 'Thing'], default: null },
        ],
      },
    });
    const out = generateEventTypes(readAvroSchemaFiles(avroDir));

    it('starts with the generated header', () => {
      expect(out.startsWith(GENERATED_HEADER)).toBe(true);
    });

    it('maps primitives, optionals, arrays, maps and named references', () => {
      expect(out).toContain('  id: string;');
      expect(out).toContain('  count: number;');
      expect(out).toContain('  ratio: number;');
      expect(out).toContain('  blob: Buffer;');
      expect(out).toContain('  maybe: number | null;');
      expect(out).toContain('  tags: string[];');
      expect(out).toContain('  byName: Record<string, number>;');
      expect(out).toContain('  maybeColors: Array<Color | null>;');
      expect(out).toContain('  thing: Thing;');
      expect(out).toContain('  previous: Thing | null;');
    });

    it('renders enums as string-literal unions plus a const array of symbols', () => {
      expect(out).toContain("export type Color = 'red' | 'green';");
      expect(out).toContain("export const ColorSymbols = ['red', 'green'] as const");
    });

    it('keeps docs as JSDoc', () => {
      expect(out).toContain('/** The id. */');
      expect(out).toMatch(/\* A thing\.\n \* Avro: test\.v1\.Thing/);
    });

    it('indexes events by name', () => {
      expect(out).toContain('export interface EventTypes {\n  Happened: Happened;\n}');
      expect(out).toContain("export const EventNames = ['Happened']");
    });

    it('is deterministic', () => {
      expect(generateEventTypes(readAvroSchemaFiles(avroDir))).toBe(out);
    });

    it('--check reports stale output without writing, a normal run writes it', () => {
      const outPath = join(avroDir, 'events.ts');
      writeFileSync(outPath, '// old\n');
      expect(runCodegen({ check: true, outPath, avroDir }).changed).toBe(true);
      expect(readFileSync(outPath, 'utf8')).toBe('// old\n');
      expect(runCodegen({ outPath, avroDir }).changed).toBe(true);
      expect(runCodegen({ check: true, outPath, avroDir }).changed).toBe(false);
    });

    it('rejects references to unknown types', () => {
      const broken = writeAvroTree({
        'Broken.avsc': { type: 'record', name: 'Broken', namespace: 'test.v1', fields: [{ name: 'x', type: 'test.v1.Missing' }] },
      });
      expect(() => generateEventTypes(readAvroSchemaFiles(broken))).toThrow(/unknown Avro type test\.v1\.Missing/);
    });
  });
});
