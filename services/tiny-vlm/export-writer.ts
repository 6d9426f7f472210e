import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { EXPORT_FILE } from './data';

/**
 * Writes games in the answerer-view export contract of `dg export --view answerer --format openai`
 * (what the experiment's in-process mode produces in place of the real pipeline's export): images
 * under images/<sha256>.png, one line per game.
 */

export interface ExportGame {
  gameId: string;
  iteration: number;
  verdict: 'success' | 'failure';
  kept: boolean;
  png: Buffer;
  turns: ReadonlyArray<{ question: string; answer: string }>;
}

export const ANSWERER_SYSTEM_TEXT =
  'You are the answerer in a cooperative image-identification game. Reply with one JSON object and nothing else: {"answer": "yes"}, {"answer": "no"}, or {"answer": "unsure"} when the image does not let you tell.';

export function exportLine(game: ExportGame, imageUrl: string): string {
  const messages: unknown[] = [{ role: 'system', content: ANSWERER_SYSTEM_TEXT }];
  game.turns.forEach((turn, i) => {
    messages.push(
      i === 0
        ? {
            role: 'user',
            content: [
              { type: 'image_url', image_url: { url: imageUrl } },
              { type: 'text', text: turn.question },
            ],
          }
        : { role: 'user', content: turn.question },
    );
    messages.push({ role: 'assistant', content: JSON.stringify({ answer: turn.answer }) });
  });
  return JSON.stringify({ messages, metadata: { game_id: game.gameId, iteration: game.iteration, verdict: game.verdict, kept: game.kept } });
}

export async function writeAnswererExport(dir: string, games: readonly ExportGame[]): Promise<string> {
  await mkdir(path.join(dir, 'images'), { recursive: true });
  const written = new Set<string>();
  const lines: string[] = [];
  for (const game of games) {
    if (game.turns.length === 0) continue;
    const sha = createHash('sha256').update(game.png).digest('hex');
    const relative = `images/${sha}.png`;
    if (!written.has(sha)) {
      await writeFile(path.join(dir, relative), game.png);
      written.add(sha);
    }
    lines.push(exportLine(game, relative));
  }
  const file = path.join(dir, EXPORT_FILE);
  await writeFile(file, lines.length ? `${lines.join('\n')}\n` : '');
  return file;
}
