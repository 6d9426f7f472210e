import { FakeEventBus } from '../core/bus/testing/fake-bus';
import { loadConfig } from '../core/config';
import { guessedGame, judgedGame } from '../../test/helpers/role-fakes';
import { FilterService } from './filter.service';

/** The filter against a fake bus (pure): keep/reject decisions, the claims log for duplicates, redelivery. */
describe('FilterService', () => {
  beforeAll(() => jest.spyOn(process.stderr, 'write').mockImplementation(() => true));
  afterAll(() => jest.restoreAllMocks());

  async function start(bus = new FakeEventBus()) {
    const service = new FilterService(loadConfig({}, { DG_TOPIC_PREFIX: bus.topicPrefix }), bus.asEventBus());
    await service.onApplicationBootstrap();
    return { bus, service };
  }

  const success = (gameId: string) => judgedGame(guessedGame({ gameId, targetIndex: 2, guessIndex: 2, dialog: [['Is the circle blue?', 'yes']] }));

  it('keeps a successful clean game, claiming its transcript first', async () => {
    const { bus, service } = await start();
    await bus.deliver('gameJudged', success('g-kept'));
    expect(bus.published('transcriptClaim')).toMatchObject([{ gameId: 'g-kept' }]);
    expect(bus.published('gameCurated')).toMatchObject([{ game: { header: { gameId: 'g-kept' } }, curation: { kept: true } }]);
    await service.beforeApplicationShutdown();
  });

  it('rejects a failed game without claiming anything', async () => {
    const { bus, service } = await start();
    await bus.deliver('gameJudged', judgedGame(guessedGame({ gameId: 'g-lost', targetIndex: 2, guessIndex: 0 })));
    expect(bus.published('transcriptClaim')).toEqual([]);
    expect(bus.published('gameCurated')).toMatchObject([{ curation: { kept: false } }]);
    await service.beforeApplicationShutdown();
  });

  it('rejects the second game with the same candidates and dialog as a duplicate, also on a fresh instance', async () => {
    const { bus, service } = await start();
    await bus.deliver('gameJudged', success('g-first'));
    await service.beforeApplicationShutdown();
    // A new instance (a restart, or another host): it knows the first claim only from the claims log.
    const fresh = await start(bus);
    await bus.deliver('gameJudged', success('g-twin'));
    const curated = bus.published('gameCurated');
    expect(curated.map((c) => [c.game.header.gameId, c.curation.kept])).toEqual([
      ['g-first', true],
      ['g-twin', false],
    ]);
    expect(curated[1]!.curation.reasons.join(' ')).toContain('duplicate_transcript');
    await fresh.service.beforeApplicationShutdown();
  });

  it('a redelivered kept game is kept again (it still owns its claim), not judged its own duplicate', async () => {
    const { bus, service } = await start();
    const event = success('g-redelivered');
    await bus.deliver('gameJudged', event);
    await bus.deliver('gameJudged', event);
    expect(bus.published('gameCurated').map((c) => c.curation.kept)).toEqual([true, true]);
    await service.beforeApplicationShutdown();
  });

  it('dead-letters a record that is not a GameJudged', async () => {
    const { bus, service } = await start();
    expect(await bus.deliverBytes('gameJudged', null, 'g-tombstone')).toEqual(['dead-lettered']);
    expect(bus.deadLetters()).toHaveLength(1);
    expect(bus.published('gameCurated')).toEqual([]);
    await service.beforeApplicationShutdown();
  });
});
