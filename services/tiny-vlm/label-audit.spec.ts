import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { embedScene } from '../datasets/png-text';
import { renderScenePng } from '../datasets/render';
import { generateDistinctScenes } from '../datasets/scene-generator';
import { writeAnswererExport } from './export-writer';
import { auditAnswererExport } from './label-audit';

describe('auditAnswererExport (measurement of training labels from the PNG metadata)', () => {
  it('counts right and wrong yes/no answers, skips unsure ones, and counts games and successes per iteration', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tiny-audit-'));
    try {
      const [scene] = generateDistinctScenes(1, 3);
      const png = embedScene(renderScenePng(scene!), scene!);
      const bg = scene!.background;
      const other = bg === 'black' ? 'white' : 'black';
      await writeAnswererExport(dir, [
        // right, wrong, unsure (not counted)
        {
          gameId: 'a',
          iteration: 0,
          verdict: 'success',
          kept: true,
          png,
          turns: [
            { question: `Is the background ${bg}?`, answer: 'yes' },
            { question: `Is the background ${other}?`, answer: 'yes' },
            { question: 'Is there a red object?', answer: 'unsure' },
          ],
        },
        { gameId: 'b', iteration: 1, verdict: 'failure', kept: false, png, turns: [{ question: `Is the background ${other}?`, answer: 'no' }] },
      ]);
      const audit = await auditAnswererExport(dir);
      expect(audit).toEqual(expect.objectContaining({ games: 2, answers: 3, correct: 2, unparsed: 0, yes: 2 }));
      expect(audit.turnsHistogram).toEqual({ 2: 1, 1: 1 });
      expect(audit.byIteration).toEqual({ 0: { games: 1, successes: 1 }, 1: { games: 1, successes: 0 } });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
