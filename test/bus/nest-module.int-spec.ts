import 'reflect-metadata';
import { Inject, Injectable, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadFixture } from '../../schemas/fixtures';
import { BUS_CONFIG, BusModule, EventBus, type BusConfig } from '../../services/core/bus';
import { DgConfigModule } from '../../services/core/config';
import { createBusTestWorld, testDgConfig, type BusTestWorld } from '../helpers/bus-kit';
import { waitFor } from '../helpers/wait-for';

const HANDLER_MS = 1_500;

/** What the role's handler saw, shared with the test. */
const observed = { groupId: '', started: [] as string[], finished: [] as Array<{ id: string; resourceOpen: boolean }>, resourceOpen: true };

/** A role like the sink: its handler uses a resource that the role closes on application shutdown. */
@Injectable()
class RoleWithResource implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(private readonly bus: EventBus) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.bus.subscribe({
      groupId: observed.groupId,
      topics: ['gameRequested'],
      handler: async (event) => {
        const id = event.game.header.gameId;
        observed.started.push(id);
        if (id.startsWith('slow')) await new Promise((resolve) => setTimeout(resolve, HANDLER_MS));
        observed.finished.push({ id, resourceOpen: observed.resourceOpen });
      },
    });
  }

  onApplicationShutdown(): void {
    observed.resourceOpen = false;
  }
}

@Module({ providers: [RoleWithResource] })
class RoleModule {}

@Injectable()
class ConfigProbe {
  constructor(@Inject(BUS_CONFIG) readonly config: BusConfig) {}
}

/** BusModule inside a Nest application: config injected, consumers started by a role, drained by app.close() before the role closes its resources. */
describe('BusModule in a Nest application (real Kafka + registry)', () => {
  let world: BusTestWorld;

  beforeAll(async () => {
    world = await createBusTestWorld('nest', { partitions: 1 });
    observed.groupId = world.groupId('nest-role');
  });
  afterAll(async () => {
    await world?.cleanup();
  });

  it('consumes through the injected bus and, on close, drains in-flight handlers before providers shut down, commits and leaves the group', async () => {
    @Module({
      imports: [DgConfigModule.forRoot(testDgConfig(world.prefix)), BusModule.forRoot({ overrides: { consumer: { commitIntervalMs: 60_000 } } }), RoleModule],
      providers: [ConfigProbe],
    })
    class AppModule {}
    const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
    await app.init();
    expect(app.get(ConfigProbe).config.topicPrefix).toBe(world.prefix);
    const bus = app.get(EventBus);

    for (const id of ['fast-1', 'fast-2', 'slow-3']) {
      const value = loadFixture('GameRequested');
      value.game.header.gameId = id;
      await bus.publish('gameRequested', id, value);
    }
    await waitFor(() => observed.started.includes('slow-3'), { timeoutMs: 30_000, what: 'the slow handler to start' });
    expect(observed.finished.map((f) => f.id)).toEqual(['fast-1', 'fast-2']);

    // The periodic commit is an hour away: only the drain on close can commit.
    await app.close();
    expect(observed.finished).toEqual([
      { id: 'fast-1', resourceOpen: true },
      { id: 'fast-2', resourceOpen: true },
      { id: 'slow-3', resourceOpen: true },
    ]);
    expect(observed.resourceOpen).toBe(false);
    expect((await world.committedOffsets(observed.groupId, 'gameRequested')).get(0)).toBe(3n);
    const description = await world.admin.describeGroups([observed.groupId]);
    expect(description.groups[0]?.state).toBe('Empty');
  });
});
