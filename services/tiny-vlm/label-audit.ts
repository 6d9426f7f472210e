import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { readSceneFromPng } from '../datasets/png-text';
import { parseAnswererOutput } from '../game/answerer-output';
import { parseQuestion } from '../sim-vlm/grammar';
import { evaluatePredicate } from '../sim-vlm/scene-reasoning';
import { imageBytes, imageUrlOf, questionOf, resolveExportFile } from './data';

/**
 * Measurement only: how many of an answerer export's training answers are right. The truth comes
 * from the scene metadata embedded in the exported PNG and the simulator's question parser, which
 * TinyVLM never reads; the experiment reports it as "train label acc" so that the in-process and
 * pipeline paths can be compared on the data they train on.
 */

export interface LabelAudit {
  games: number;
  /** Yes/no answers (the examples `tiny-vlm train` uses). */
  answers: number;
  /** Of those, answers that agree with the scene's ground truth. */
  correct: number;
  /** Answers whose question the simulator's parser could not read (not counted in `answers`). */
  unparsed: number;
  yes: number;
  /** Turns per game: count of games with 0, 1, 2, ... answer turns. */
  turnsHistogram: Record<string, number>;
  /** Games and successful games per play iteration (from each line's metadata). */
  byIteration: Record<string, { games: number; successes: number }>;
}

type Part = { type?: string; text?: string; image_url?: { url?: string } };
type Message = { role?: string; content?: string | Part[] };

export async function auditAnswererExport(dataPath: string): Promise<LabelAudit> {
  const file = await resolveExportFile(dataPath);
  const text = await readFile(file, 'utf8');
  const audit: LabelAudit = { games: 0, answers: 0, correct: 0, unparsed: 0, yes: 0, turnsHistogram: {}, byIteration: {} };
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const { messages, metadata } = JSON.parse(line) as { messages: Message[]; metadata?: { iteration?: number; verdict?: string } };
    const counts = (audit.byIteration[String(metadata?.iteration ?? '?')] ??= { games: 0, successes: 0 });
    counts.games++;
    if (metadata?.verdict === 'success') counts.successes++;
    const url = imageUrlOf(messages);
    if (!url) continue;
    const scene = readSceneFromPng(await imageBytes(url, path.dirname(file)));
    audit.games++;
    let turns = 0;
    for (let i = 0; i + 1 < messages.length; i++) {
      if (messages[i]!.role !== 'user' || messages[i + 1]!.role !== 'assistant') continue;
      const question = questionOf(messages[i]!.content);
      const content = messages[i + 1]!.content;
      const answer = parseAnswererOutput(typeof content === 'string' ? content : (content ?? []).map((p) => p.text ?? '').join('\n'), 'yesno');
      if (!question || answer.kind !== 'answer' || answer.text === 'unsure') continue;
      turns++;
      const parsed = parseQuestion(question);
      if (!parsed || parsed.type !== 'yesno') {
        audit.unparsed++;
        continue;
      }
      audit.answers++;
      if (answer.text === 'yes') audit.yes++;
      if (evaluatePredicate(scene, parsed.predicate) === (answer.text === 'yes')) audit.correct++;
    }
    audit.turnsHistogram[turns] = (audit.turnsHistogram[turns] ?? 0) + 1;
  }
  return audit;
}
