import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { DG_CONFIG, type DgConfig } from '../core/config';
import { EventBus } from '../core/bus';
import { roleGroupId, ROLE_INPUTS } from '../core/bus';
import { judge } from '../game';
import type { GameEnded } from '../../schemas/generated/events';

/** Judges every ended game: one verdict from the closed set per GameEnded. Pure rules in game/referee. */
@Injectable()
export class RefereeService implements OnApplicationBootstrap {
  constructor(
    @Inject(DG_CONFIG) private readonly config: DgConfig,
    private readonly bus: EventBus,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.bus.subscribe({
      groupId: roleGroupId(this.config.topics.prefix, 'referee'),
      topics: ROLE_INPUTS.referee,
      handler: (event) => this.handle(event),
    });
  }

  async handle(event: GameEnded): Promise<void> {
    const judgement = judge(event, { now: Date.now() });
    await this.bus.publish('gameJudged', event.game.header.gameId, { game: event.game, ending: event.ending, judgement });
  }
}
