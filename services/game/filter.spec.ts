import { createHash } from 'node:crypto';
import type { GameJudged, GameState, Judgement } from '../../schemas/generated/events';
import { curate, FILTER_RULES, FILTER_VERSION, namesCandidate, transcriptHash } from './filter';
import { failureEnding } from './steps';
import { makeGame, TEST_NOW, withDialog } from './testing';

const now = TEST_NOW;
const success: Judgement = { verdict: 'success', failureReason: null, detail: '', refereeVersion: 'referee-1', judgedAtMs: now };
const failure: Judgement = { ...success, verdict: 'failure', failureReason: 'wrong_guess' };

function judged(game: GameState, judgement: Judgement = success): GameJudged {
  const ending = { ...failureEnding('no_guess', 'questioner', '', now), kind: 'guess' as const, guessedIndex: 0, guessedImageId: game.setup.candidates[0]!.id };
  return { game, ending, judgement };
}

const clean = (): GameState =>
  withDialog(makeGame({ questionMode: 'open' }), [
    ['Is there a red circle?', 'yes, on the left'],
    ['Is it large?', 'no'],
  ]);

describe('curate', () => {
  it('keeps a successful clean game, stamping the filter version and transcript hash', () => {
    const game = clean();
    expect(curate(judged(game), { now })).toEqual({
      kept: true,
      reasons: [],
      filterVersion: FILTER_VERSION,
      transcriptHash: transcriptHash(game),
      curatedAtMs: now,
    });
  });

  it('rejects games that were not a success', () => {
    expect(curate(judged(clean(), failure), { now, filterVersion: 'filter-test' })).toMatchObject({
      kept: false,
      reasons: ['not_success'],
      filterVersion: 'filter-test',
    });
  });

  it('rejects repeated questions after normalisation', () => {
    const game = withDialog(makeGame(), [
      ['Is there a red circle?', 'yes'],
      ['is there a  RED circle', 'yes'],
    ]);
    expect(curate(judged(game), { now }).reasons).toEqual(['repeated_question']);
  });

  it('rejects an answer naming a candidate, and an empty turn', () => {
    const naming = withDialog(makeGame({ questionMode: 'open' }), [['Which one has a star?', 'image 2 has a star']]);
    expect(curate(judged(naming), { now }).reasons).toEqual(['answer_names_candidate']);
    const empty = withDialog(makeGame(), [['Is it red?', ' ... ']]);
    expect(curate(judged(empty), { now }).reasons).toEqual(['empty_turn']);
  });

  it('lists every rule that fires, in rule order', () => {
    const game = withDialog(makeGame(), [
      ['Is it red?', 'the first one'],
      ['Is it red?', ''],
    ]);
    expect(curate(judged(game, failure), { now }).reasons).toEqual(['not_success', 'repeated_question', 'answer_names_candidate', 'empty_turn']);
    expect(FILTER_RULES.map((r) => r.id)).toEqual(['not_success', 'repeated_question', 'answer_names_candidate', 'empty_turn', 'duplicate_transcript']);
  });

  it('rejects a transcript already seen, only when the caller passes what it has seen', () => {
    const game = clean();
    const seen = new Set([transcriptHash(game)]);
    expect(curate(judged(game), { now, seenTranscriptHashes: seen }).reasons).toEqual(['duplicate_transcript']);
    expect(curate(judged(game), { now, seenTranscriptHashes: new Set(['other']) }).kept).toBe(true);
    expect(curate(judged(game), { now }).kept).toBe(true);
  });
});

describe('transcriptHash', () => {
  it('is the SHA-256 of candidate ids and normalised turns', () => {
    const game = withDialog(makeGame({ candidateIds: ['a', 'b'] }), [['Is it Red?', 'yes']]);
    const expected = createHash('sha256').update('candidates\ta\tb\nquestioner\tquestion\tis it red\nanswerer\tanswer\tyes').digest('hex');
    expect(transcriptHash(game)).toBe(expected);
  });

  it('ignores case, punctuation and timing but not order, wording or candidates', () => {
    const base = withDialog(makeGame(), [['Is it red?', 'yes']]);
    const sameUpToCase = withDialog(makeGame({ gameId: 'other' }), [['is it RED', 'Yes.']]);
    expect(transcriptHash(sameUpToCase)).toBe(transcriptHash(base));
    expect(transcriptHash(withDialog(makeGame(), [['Is it blue?', 'yes']]))).not.toBe(transcriptHash(base));
    const reordered = { ...base, setup: { ...base.setup, candidates: [...base.setup.candidates].reverse() } };
    expect(transcriptHash(reordered)).not.toBe(transcriptHash(base));
  });
});

describe('namesCandidate', () => {
  it.each([
    'image 2',
    'It is Image 2.',
    'Image #3 has it',
    'picture three.',
    'the second picture',
    'option 1',
    'image number 4',
    '#3',
    'Yes, #2.',
    'the third one',
    'The first image',
    'the 2nd picture',
    'the left-most image',
    'the leftmost picture',
    'the left image',
    'top-right image',
    'the last image',
    'the middle picture',
    'the images 1 and 3',
  ])('flags %j', (text) => {
    expect(namesCandidate(text)).toBe(true);
  });

  it.each([
    'yes',
    'no',
    'unsure',
    'on the left',
    'The circle is on the left.',
    'the left circle is red',
    'a square at the top left of the image',
    'left side of the image',
    'in the middle of the picture',
    'the left-most shape is a star',
    'In the image two circles are red',
    'there are 2 circles',
    'A red circle; first, it is large',
    'the colour #ff0000',
    'this image shows one star',
    'In this image, three squares',
    'the image is mostly white',
  ])('does not flag %j', (text) => {
    expect(namesCandidate(text)).toBe(false);
  });
});
