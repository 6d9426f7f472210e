import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { DG_CONFIG, type DgConfig } from '../core/config';
import { EventBus } from '../core/bus';
import { roleGroupId, ROLE_INPUTS } from '../core/runtime';
import { curate, transcriptHash } from '../game';
import type { GameJudged } from '../../schemas/generated/events';
import { SeenTranscripts } from './seen-transcripts';

/** Curates judged games: kept iff successful and clean; every decision carries its reasons and filter version. */
@Injectable()
export class FilterService implements OnApplicationBootstrap {
  private readonly seen = new SeenTranscripts();

  constructor(
    @Inject(DG_CONFIG) private readonly config: DgConfig,
    private readonly bus: EventBus,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.bus.subscribe({
      groupId: roleGroupId(this.config.topics.prefix, 'filter'),
      topics: ROLE_INPUTS.filter,
      handler: (event) => this.handle(event),
    });
  }

  async handle(event: GameJudged): Promise<void> {
    const gameId = event.game.header.gameId;
    const hash = transcriptHash(event.game);
    const curation = curate(event, { now: Date.now(), seenTranscriptHashes: this.seen.othersFor(gameId, hash) });
    await this.bus.publish('gameCurated', gameId, { ...event, curation });
    // Only successful games can be duplicates worth rejecting; remembering after the publish keeps a
    // failed publish (retried) from marking the game as its own duplicate.
    if (event.judgement.verdict === 'success') this.seen.remember(gameId, hash);
  }
}
