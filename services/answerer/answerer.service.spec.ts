import { FakeEventBus } from '../core/bus/testing/fake-bus';
import { loadConfig } from '../core/config';
import { withDialog } from '../game/testing';
import { fakeImages, liveGame, scriptedModel } from '../../test/helpers/role-fakes';
import { AnswererService } from './answerer.service';

/** The answerer against a fake bus (pure: no broker, no model endpoint); the real-stack flows are in test/e2e. */
describe('AnswererService', () => {
  beforeAll(() => jest.spyOn(process.stderr, 'write').mockImplementation(() => true));
  afterAll(() => jest.restoreAllMocks());

  async function start(outputs: Array<string | Error>, unusable: string[] = []) {
    const bus = new FakeEventBus();
    const model = scriptedModel(outputs, '{"answer": "no"}');
    const service = new AnswererService(loadConfig({}, { DG_TOPIC_PREFIX: bus.topicPrefix }), bus.asEventBus(), model.client, fakeImages(unusable));
    await service.onApplicationBootstrap();
    return { bus, model, service };
  }

  const asked = (gameId: string, options: Parameters<typeof liveGame>[0] = {}) => ({
    game: withDialog(liveGame({ gameId, targetIndex: 2, ...options }), [['Is the circle blue?']]),
    question: 'Is the circle blue?',
  });

  it('answers the last question from the target image only: one AnswerGiven, the answer normalised', async () => {
    const { bus, model, service } = await start(['Yes, it is blue.']);
    expect(await bus.deliver('questionAsked', asked('g-answer'))).toEqual(['handled']);
    const given = bus.published('answerGiven');
    expect(given).toHaveLength(1);
    expect(given[0]!.answer).toBe('yes');
    expect(given[0]!.game.transcript.at(-1)).toMatchObject({ index: 1, speaker: 'answerer', kind: 'answer', text: 'yes' });
    const request = JSON.stringify(model.requests[0]);
    expect(request).toContain('https://images.test/scene-0002.png');
    for (const other of ['scene-0000', 'scene-0001', 'scene-0003']) expect(request).not.toContain(other);
    await service.beforeApplicationShutdown();
  });

  it('opens a describeFirst game with a description, and ignores GameRequested otherwise', async () => {
    const { bus, model, service } = await start(['A small red square at the top left.']);
    await bus.deliver('gameRequested', { game: liveGame({ gameId: 'g-plain' }) });
    expect(model.requests).toHaveLength(0);
    await bus.deliver('gameRequested', { game: liveGame({ gameId: 'g-described', describeFirst: true }) });
    expect(bus.published('answerGiven')).toMatchObject([
      { game: { header: { gameId: 'g-described' }, transcript: [{ kind: 'description', speaker: 'answerer', text: 'A small red square at the top left.' }] } },
    ]);
    await service.beforeApplicationShutdown();
  });

  it("answers in the game's question mode: free text in open mode", async () => {
    const { bus, service } = await start(['{"answer": "a blue circle and a red square"}']);
    await bus.deliver('questionAsked', asked('g-open', { questionMode: 'open' }));
    expect(bus.published('answerGiven')[0]!.answer).toBe('a blue circle and a red square');
    await service.beforeApplicationShutdown();
  });

  it('a redelivered question gets the identical answer without a second model call', async () => {
    const { bus, model, service } = await start(['{"answer": "yes"}', '{"answer": "no"}']);
    const input = asked('g-redeliver');
    await bus.deliver('questionAsked', input);
    await bus.deliver('questionAsked', input);
    const given = bus.published('answerGiven');
    expect(given).toHaveLength(2);
    expect(given[1]).toEqual(given[0]);
    expect(model.requests).toHaveLength(1);
    await service.beforeApplicationShutdown();
  });

  it('ends the game (never a dead letter) on unparseable output or an unusable target image', async () => {
    const { bus, service } = await start(['The weather is nice today.']);
    await bus.deliver('questionAsked', asked('g-unparseable'));
    expect(bus.published('answerGiven')).toEqual([]);
    expect(bus.published('guessMade')).toMatchObject([{ ending: { kind: 'unparseable_output', endedBy: 'answerer' } }]);
    const images = await start([], ['scene-0002']);
    await images.bus.deliver('questionAsked', asked('g-bad-image'));
    expect(images.bus.published('guessMade')).toMatchObject([{ ending: { kind: 'bad_image', endedBy: 'answerer' } }]);
    expect(images.model.requests).toHaveLength(0);
    expect([...bus.deadLetters(), ...images.bus.deadLetters()]).toEqual([]);
    await service.beforeApplicationShutdown();
    await images.service.beforeApplicationShutdown();
  });

  it('dead-letters a record of the wrong event type on its topic', async () => {
    const { bus, service } = await start([]);
    const wrong = await bus.codec.encode('gameRequested', { game: liveGame() });
    expect(await bus.deliverBytes('questionAsked', wrong, 'g-wrong')).toEqual(['dead-lettered']);
    expect(bus.deadLetters()).toMatchObject([{ errorKind: 'unexpected-event', errorMessage: expect.stringContaining('QuestionAsked') }]);
    expect(bus.published('answerGiven')).toEqual([]);
    await service.beforeApplicationShutdown();
  });
});
