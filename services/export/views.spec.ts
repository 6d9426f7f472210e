import type { GameCurated } from '../../schemas/generated/events';
import { toFineTuningExample } from '../game/fine-tuning';
import { loadPrompts } from '../game/prompts';
import { makeGame, withDialog } from '../game/testing';
import { answererConversation, questionerConversation } from './views';
import { hfRow, imageRefUrl, llamaFactoryRecord, openAiLine, type Example } from './formats';

const url = (image: { sha256: string }): string => imageRefUrl(image.sha256);

describe('answerer view (the tinyvlm contract)', () => {
  it('shows the target image once, in the first user message, then questions as plain strings and answers as assistant turns', () => {
    const game = withDialog(makeGame({ targetIndex: 2 }), [['Is it red?', 'yes'], ['Is it big?', 'no'], ['Is it round?']]);
    const messages = answererConversation(game, url)!;
    expect(messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user', 'assistant']);
    expect(messages[1]!.content).toEqual([
      { type: 'image_url', image_url: { url: imageRefUrl(game.setup.candidates[2]!.sha256) } },
      { type: 'text', text: 'Is it red?' },
    ]);
    expect(messages.slice(2)).toEqual([
      { role: 'assistant', content: 'yes' },
      { role: 'user', content: 'Is it big?' },
      { role: 'assistant', content: 'no' },
    ]);
  });

  it('opens with the describe request in describeFirst games, and is empty when nothing was answered', () => {
    const game = withDialog(makeGame({ describeFirst: true }), [['Is it red?', 'yes']], 'a red circle');
    const messages = answererConversation(game, url)!;
    expect((messages[1]!.content as Array<{ type: string; text?: string }>)[1]).toEqual({ type: 'text', text: 'Describe the image.' });
    expect(messages[2]).toEqual({ role: 'assistant', content: 'a red circle' });
    expect(answererConversation(withDialog(makeGame(), [['Is it red?']]), url)).toBeNull();
  });
});

describe('questioner view', () => {
  it('ends with the guess, and keeps a trailing unanswered question as the last assistant turn', () => {
    const game = withDialog(makeGame(), [['Is it red?', 'yes']]);
    const withGuess = questionerConversation(game, 1, url)!;
    expect(withGuess[withGuess.length - 1]).toEqual({ role: 'assistant', content: '{"guess":2}' });
    const cut = questionerConversation(withDialog(game, [['Is it big?']]), null, url)!;
    expect(cut[cut.length - 1]).toEqual({ role: 'assistant', content: '{"question":"Is it big?"}' });
  });

  it("is the sink's fine-tuning example for a kept game that ended in a guess (one builder, game/fine-tuning.ts)", () => {
    const game = withDialog(makeGame({ targetIndex: 1 }), [
      ['Is it red?', 'yes'],
      ['Is it big?', 'no'],
    ]);
    const curated = {
      game,
      ending: { kind: 'guess', guessedIndex: 1 },
      judgement: { refereeVersion: 'referee-1' },
      curation: { kept: true, reasons: [], filterVersion: 'filter-1', transcriptHash: 'h' },
    } as unknown as GameCurated;
    const line = toFineTuningExample(curated, loadPrompts(game.setup.questioner.promptVersion), { imageUrl: url });
    expect(questionerConversation(game, 1, url)).toEqual(line.messages);
  });
});

describe('formats', () => {
  const game = withDialog(makeGame(), [['Is it red?', 'yes']]);
  const example: Example = {
    messages: questionerConversation(game, 0, url)!,
    metadata: {
      game_id: 'g',
      iteration: 1,
      verdict: 'success',
      kept: true,
      failure_reason: '',
      run_id: 'r',
      dataset: 'd',
      target_id: 't',
      view: 'questioner',
      questioner_model: 'q',
      answerer_model: 'a',
      filter_version: 'f',
      referee_version: 'r',
      transcript_hash: 'h',
    },
  };
  const shas = game.setup.candidates.map((c) => c.sha256);

  it('hf: every content a list of parts, one image part per image, in order', () => {
    const row = hfRow(example);
    expect(row.imageShas).toEqual(shas);
    expect(row.messages.flatMap((m) => m.content.filter((p) => p.type === 'image'))).toHaveLength(shas.length);
    expect(row.messages[0]).toEqual({ role: 'system', content: [{ type: 'text', text: expect.any(String) }] });
  });

  it('llamafactory: one <image> per listed image, in order', () => {
    const record = llamaFactoryRecord(example, (sha) => `images/${sha}.png`);
    expect(record.images).toEqual(shas.map((s) => `images/${s}.png`));
    expect(record.messages.map((m) => m.content.split('<image>').length - 1).reduce((a, b) => a + b, 0)).toBe(shas.length);
  });

  it('openai: image URLs resolved, metadata kept', () => {
    const line = JSON.parse(openAiLine(example, (sha) => `images/${sha}.png`)) as { messages: Array<{ content: unknown }>; metadata: { game_id: string } };
    expect(JSON.stringify(line.messages)).not.toContain('dg-image:');
    expect(line.metadata.game_id).toBe('g');
  });
});
