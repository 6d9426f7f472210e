import { loadFixture } from '../../schemas/fixtures';
import { createBusTestWorld, type BusTestWorld } from '../helpers/bus-kit';

/** EventBus.readAt: one event read back by its position (the model-call journal's cold entries). */
describe('bus read-at (real Kafka + registry)', () => {
  let world: BusTestWorld;

  beforeAll(async () => {
    world = await createBusTestWorld('readat', { partitions: 3, topics: ['modelCalls', 'questionAsked'] });
  });
  afterAll(async () => {
    await world?.cleanup();
  });

  it('reads back the event at a position of any partition, leaves no consumer group behind, and gives undefined past the end', async () => {
    const bus = await world.newBus();
    const base = loadFixture('ModelCallRecorded');
    // One record per call: each call gives back that record's partition and offset.
    const positions: Array<{ gameId: string; partition: number; offset: string }> = [];
    for (let i = 0; i < 12; i++) {
      const [at] = await bus.publishBatch([{ topic: 'modelCalls', key: `game-${i}`, value: { ...base, gameId: `game-${i}`, transcriptLength: i } }]);
      positions.push({ gameId: `game-${i}`, partition: at!.partition, offset: at!.offset });
    }
    expect(new Set(positions.map((p) => p.partition)).size).toBeGreaterThan(1);
    const reads = await Promise.all(positions.slice(0, 4).map((p) => bus.readAt('modelCalls', p.partition, p.offset)));
    expect(reads.map((r) => r && [r.gameId, r.transcriptLength])).toEqual(positions.slice(0, 4).map((p, i) => [p.gameId, i]));
    expect(reads[0]).toEqual({ ...base, gameId: 'game-0', transcriptLength: 0 });
    const { partition } = positions[0]!;
    const end = (await world.highWatermarks('modelCalls')).get(partition)!;
    await expect(bus.readAt('modelCalls', partition, String(end))).resolves.toBeUndefined();

    const groups = (await world.admin.listGroups()).groups.map((g) => g.groupId).filter((id) => id.includes('read-at'));
    expect(groups).toEqual([]);
  });

  it('refuses to read a record of another event type as this topic’s event, naming the position', async () => {
    const bus = await world.newBus();
    // A QuestionAsked record on the journal topic, written raw (the bus itself would refuse to).
    const bytes = await world.codec.encode('questionAsked', loadFixture('QuestionAsked'));
    const [written] = await world.produceRaw('modelCalls', [{ key: 'g-x', value: bytes, partition: 0 }]);
    await expect(bus.readAt('modelCalls', 0, written!.offset)).rejects.toThrow(/partition 0 offset \d+ holds QuestionAsked, not ModelCallRecorded/);
  });
});
