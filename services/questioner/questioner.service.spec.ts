import { FakeEventBus } from '../core/bus/testing/fake-bus';
import { loadConfig } from '../core/config';
import { ModelError } from '../core/errors';
import { withDialog } from '../game/testing';
import { fakeImages, liveGame, scriptedModel } from '../../test/helpers/role-fakes';
import { QuestionerService } from './questioner.service';

/** The questioner against a fake bus (pure: no broker, no model endpoint); the real-stack flows are in test/e2e. */
describe('QuestionerService', () => {
  beforeAll(() => jest.spyOn(process.stderr, 'write').mockImplementation(() => true));
  afterAll(() => jest.restoreAllMocks());

  async function start(outputs: Array<string | Error>, unusable: string[] = []) {
    const bus = new FakeEventBus();
    const model = scriptedModel(outputs);
    const service = new QuestionerService(loadConfig({}, { DG_TOPIC_PREFIX: bus.topicPrefix }), bus.asEventBus(), model.client, fakeImages(unusable));
    await service.onApplicationBootstrap();
    return { bus, model, service };
  }

  it('asks the question its model chose: one QuestionAsked with the turn appended, shown every candidate', async () => {
    const { bus, model, service } = await start(['{"question": "Is the square red?"}']);
    const game = liveGame({ gameId: 'g-ask' });
    expect(await bus.deliver('gameRequested', { game })).toEqual(['handled']);
    const asked = bus.published('questionAsked');
    expect(asked).toHaveLength(1);
    expect(asked[0]!.question).toBe('Is the square red?');
    expect(asked[0]!.game.transcript).toMatchObject([{ index: 0, speaker: 'questioner', kind: 'question', text: 'Is the square red?' }]);
    expect(bus.published('guessMade')).toEqual([]);
    expect(model.requests).toHaveLength(1);
    expect(JSON.stringify(model.requests[0])).toContain('https://images.test/scene-0003.png');
    await service.beforeApplicationShutdown();
  });

  it('ends the game with a GameEnded(guess) when its model guesses', async () => {
    const { bus, service } = await start(['{"guess": 2}']);
    const game = withDialog(liveGame({ gameId: 'g-guess' }), [['Is it red?', 'yes']]);
    await bus.deliver('answerGiven', { game, answer: 'yes' });
    expect(bus.published('questionAsked')).toEqual([]);
    expect(bus.published('guessMade')).toMatchObject([{ ending: { kind: 'guess', guessedIndex: 1 } }]);
    await service.beforeApplicationShutdown();
  });

  it('leaves a describeFirst game to the answerer: nothing published, no model call', async () => {
    const { bus, model, service } = await start([]);
    await bus.deliver('gameRequested', { game: liveGame({ describeFirst: true }) });
    expect(bus.published('questionAsked')).toEqual([]);
    expect(bus.published('guessMade')).toEqual([]);
    expect(model.requests).toHaveLength(0);
    await service.beforeApplicationShutdown();
  });

  it('a redelivered turn republishes the identical event without calling its model again', async () => {
    const { bus, model, service } = await start([`{"question": "Is it ${Math.random()}?"}`, '{"question": "A different question?"}']);
    const input = { game: withDialog(liveGame({ gameId: 'g-redeliver' }), [['Is it red?', 'no']]), answer: 'no' };
    await bus.deliver('answerGiven', input);
    await bus.deliver('answerGiven', input);
    const asked = bus.published('questionAsked');
    expect(asked).toHaveLength(2);
    expect(asked[1]).toEqual(asked[0]);
    expect(model.requests).toHaveLength(1);
    expect(service.journal.counters.reused).toBe(1);
    await service.beforeApplicationShutdown();
  });

  it('ends the game, never dead-letters it, when its model fails for good, when the output is unparseable, or an image is unusable', async () => {
    const { bus, service } = await start([new ModelError('HTTP 500 from the endpoint', { status: 500 }), '']);
    await bus.deliver('gameRequested', { game: liveGame({ gameId: 'g-model-error' }) });
    await bus.deliver('gameRequested', { game: liveGame({ gameId: 'g-unparseable' }) });
    const images = await start([], ['scene-0001']);
    await images.bus.deliver('gameRequested', { game: liveGame({ gameId: 'g-bad-image' }) });
    expect(bus.published('guessMade').map((e) => [e.game.header.gameId, e.ending.kind])).toEqual([
      ['g-model-error', 'model_error'],
      ['g-unparseable', 'unparseable_output'],
    ]);
    expect(images.bus.published('guessMade')).toMatchObject([{ ending: { kind: 'bad_image' } }]);
    expect(images.model.requests).toHaveLength(0);
    expect([...bus.deadLetters(), ...images.bus.deadLetters()]).toEqual([]);
    await service.beforeApplicationShutdown();
    await images.service.beforeApplicationShutdown();
  });

  it('dead-letters a record it cannot decode, naming the cause, and publishes nothing else', async () => {
    const { bus, model, service } = await start([]);
    expect(await bus.deliverBytes('answerGiven', Buffer.from('not avro'), 'g-poison')).toEqual(['dead-lettered']);
    expect(bus.deadLetters()).toMatchObject([
      { errorKind: 'decode', sourceTopic: `${bus.topicPrefix}answer-given`, errorMessage: expect.stringMatching(/magic byte|wire format|schema id/i) },
    ]);
    expect(bus.published('questionAsked')).toEqual([]);
    expect(model.requests).toHaveLength(0);
    await service.beforeApplicationShutdown();
  });
});
