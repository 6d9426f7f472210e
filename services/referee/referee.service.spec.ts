import { FakeEventBus } from '../core/bus/testing/fake-bus';
import { loadConfig } from '../core/config';
import { endGame, timeoutEnding } from '../game/steps';
import { guessedGame, liveGame } from '../../test/helpers/role-fakes';
import { RefereeService } from './referee.service';

/** The referee against a fake bus (pure): one verdict per GameEnded, from the closed set. */
describe('RefereeService', () => {
  beforeAll(() => jest.spyOn(process.stderr, 'write').mockImplementation(() => true));
  afterAll(() => jest.restoreAllMocks());

  async function start() {
    const bus = new FakeEventBus();
    const service = new RefereeService(loadConfig({}, { DG_TOPIC_PREFIX: bus.topicPrefix }), bus.asEventBus());
    await service.onApplicationBootstrap();
    return { bus, service };
  }

  it('judges a right guess a success and a wrong one a failure, carrying game and ending on', async () => {
    const { bus } = await start();
    const right = guessedGame({ gameId: 'g-right', targetIndex: 1, guessIndex: 1 });
    await bus.deliver('guessMade', right);
    await bus.deliver('guessMade', guessedGame({ gameId: 'g-wrong', targetIndex: 1, guessIndex: 3 }));
    const judged = bus.published('gameJudged');
    expect(judged.map((j) => [j.game.header.gameId, j.judgement.verdict, j.judgement.failureReason])).toEqual([
      ['g-right', 'success', null],
      ['g-wrong', 'failure', 'wrong_guess'],
    ]);
    expect(judged[0]!.game).toEqual(right.game);
    expect(judged[0]!.ending).toEqual(right.ending);
  });

  it('maps an ending without a guess to its failure reason', async () => {
    const { bus } = await start();
    const game = liveGame({ gameId: 'g-timeout' });
    await bus.deliver('guessMade', endGame(game, timeoutEnding(game, 'questioner', Date.now())));
    expect(bus.published('gameJudged')).toMatchObject([{ judgement: { verdict: 'failure', failureReason: 'timeout' } }]);
  });

  it('gives a redelivered ending the same verdict again (the sink keeps one row per game)', async () => {
    const { bus } = await start();
    const ended = guessedGame({ gameId: 'g-again', targetIndex: 0, guessIndex: 0 });
    await bus.deliver('guessMade', ended);
    await bus.deliver('guessMade', ended);
    const [first, second] = bus.published('gameJudged');
    expect({ ...second!.judgement, judgedAtMs: 0 }).toEqual({ ...first!.judgement, judgedAtMs: 0 });
  });

  it('dead-letters an undecodable record and judges nothing', async () => {
    const { bus } = await start();
    expect(await bus.deliverBytes('guessMade', Buffer.from([0, 0, 0, 0, 9, 1, 2]), 'g-poison')).toEqual(['dead-lettered']);
    expect(bus.deadLetters()).toMatchObject([{ errorKind: 'decode', errorMessage: expect.stringContaining('unknown schema id 9') }]);
    expect(bus.published('gameJudged')).toEqual([]);
  });
});
