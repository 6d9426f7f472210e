import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { parseAnswererOutput } from '../game/answerer-output';
import { imagePatches } from './features';
import type { Example } from './model';

/**
 * Reads the answerer view of `dg export --view answerer --format openai` (DIR/answerer.jsonl, one
 * game per line) into training examples: the target image's pixels, each question, and the answer
 * the answerer gave, parsed like the game parses it (JSON {"answer": ...} or a bare word). Unsure and
 * unparseable answers teach nothing about yes/no and are counted, not used.
 */

export const EXPORT_FILE = 'answerer.jsonl';

export interface ExportData {
  file: string;
  sha256: string;
  /** sha256 of the dialogs (messages only, sorted): the same for exports differing only in game ids or line order. */
  contentSha256: string;
  games: number;
  examples: Example[];
  skipped: Record<string, number>;
}

type Part = { type?: string; text?: string; image_url?: { url?: string } };
type Message = { role?: string; content?: string | Part[] };

function textParts(content: Message['content']): string[] {
  if (typeof content === 'string') return [content];
  return (content ?? []).filter((p) => p?.type === 'text' && typeof p.text === 'string').map((p) => p.text!);
}

export function imageUrlOf(messages: readonly Message[]): string | undefined {
  for (const m of messages) {
    if (m.role !== 'user' || typeof m.content === 'string') continue;
    for (const p of m.content ?? []) if (p?.type === 'image_url' && typeof p.image_url?.url === 'string') return p.image_url.url;
  }
  return undefined;
}

/** The question in a user message: its last text part, without a "Question:" prefix. */
export function questionOf(content: Message['content']): string | undefined {
  const texts = textParts(content)
    .map((t) => t.trim())
    .filter(Boolean);
  const last = texts[texts.length - 1];
  return last?.replace(/^question\s*:\s*/i, '');
}

/** PNG bytes of an image URL: a data: URL, or a file path (relative to `baseDir`). No network. */
export async function imageBytes(url: string, baseDir: string): Promise<Buffer> {
  const data = /^data:image\/[a-z+.-]+;base64,(.*)$/is.exec(url);
  if (data) return Buffer.from(data[1]!, 'base64');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !url.startsWith('file://')) {
    throw new Error(`tiny-vlm: image URL ${url.slice(0, 80)} is neither a data: URL nor a file path (no network access here)`);
  }
  const file = url.startsWith('file://') ? new URL(url).pathname : path.resolve(baseDir, url);
  try {
    return await readFile(file);
  } catch (err) {
    throw new Error(`tiny-vlm: cannot read image ${file}: ${(err as Error).message}`);
  }
}

export async function resolveExportFile(dataPath: string): Promise<string> {
  let info;
  try {
    info = await stat(dataPath);
  } catch {
    throw new Error(`tiny-vlm: training data ${dataPath} does not exist`);
  }
  return info.isDirectory() ? path.join(dataPath, EXPORT_FILE) : dataPath;
}

/**
 * `canonicalOrder`: examples ordered by dialog instead of file line (what `dg tiny-vlm train`
 * uses, so exports that differ only in game ids / line order train the same model). Off by default,
 * which keeps the in-process experiment's recorded figures reproducible.
 */
export async function readAnswererExport(dataPath: string, options: { canonicalOrder?: boolean } = {}): Promise<ExportData> {
  const file = await resolveExportFile(dataPath);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`tiny-vlm: cannot read training data ${file}: ${(err as Error).message}`);
  }
  const baseDir = path.dirname(file);
  const skipped: Record<string, number> = {};
  const skip = (why: string): void => {
    skipped[why] = (skipped[why] ?? 0) + 1;
  };
  const patchCache = new Map<string, Float32Array>();
  const examples: Example[] = [];
  let games = 0;
  const lines = text.split('\n');
  const records: Array<{ n: number; messages: Message[]; canonical: string }> = [];
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (!line) continue;
    let record: { messages?: Message[] };
    try {
      record = JSON.parse(line) as { messages?: Message[] };
    } catch (err) {
      throw new Error(`tiny-vlm: ${file}:${n + 1} is not JSON (${(err as Error).message})`);
    }
    const messages = Array.isArray(record.messages) ? record.messages : undefined;
    if (!messages) throw new Error(`tiny-vlm: ${file}:${n + 1} has no "messages" array`);
    records.push({ n, messages, canonical: JSON.stringify(messages) });
  }
  // A hash of the dialogs alone (and, with canonicalOrder, examples ordered by dialog): two exports
  // of the same dialogs under other game ids / line order then train the same model.
  const sorted = [...records].sort((a, b) => (a.canonical < b.canonical ? -1 : a.canonical > b.canonical ? 1 : a.n - b.n));
  const contentSha256 = createHash('sha256')
    .update(sorted.map((r) => r.canonical).join('\n'))
    .digest('hex');
  for (const { n, messages } of options.canonicalOrder ? sorted : records) {
    const url = imageUrlOf(messages);
    if (!url) throw new Error(`tiny-vlm: ${file}:${n + 1} has no image_url part in any user message`);
    const key = url.startsWith('data:') ? createHash('sha256').update(url).digest('hex') : url;
    let patches = patchCache.get(key);
    if (!patches) {
      try {
        patches = imagePatches(await imageBytes(url, baseDir));
      } catch (err) {
        throw new Error(`${(err as Error).message} (${file}:${n + 1})`);
      }
      patchCache.set(key, patches);
    }
    games++;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      if (m.role !== 'user') continue;
      const next = messages[i + 1];
      if (next?.role !== 'assistant') continue;
      const question = questionOf(m.content);
      if (!question) {
        skip('no question text');
        continue;
      }
      const parsed = parseAnswererOutput(textParts(next.content).join('\n'), 'yesno');
      if (parsed.kind !== 'answer') skip('unparseable answer');
      else if (parsed.text === 'unsure') skip('unsure answer');
      else examples.push({ patches, question, label: parsed.text === 'yes' });
    }
  }
  return { file, sha256: createHash('sha256').update(text).digest('hex'), contentSha256, games, examples, skipped };
}
