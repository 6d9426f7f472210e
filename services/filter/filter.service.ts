import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { DG_CONFIG, type DgConfig } from '../core/config';
import { EventBus, type Subscription } from '../core/bus';
import { roleGroupId, ROLE_INPUTS } from '../core/bus';
import { curate, transcriptHash } from '../game';
import type { GameJudged } from '../../schemas/generated/events';
import { TranscriptClaims } from './transcript-claims';

/**
 * Curates judged games: kept iff successful and clean; every decision carries its reasons and filter
 * version. The duplicate rule is decided by the claims log (TranscriptClaims), so it gives the same
 * answer on every instance, after a restart and on replay.
 */
@Injectable()
export class FilterService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly claims: TranscriptClaims;
  private subscription: Subscription | undefined;

  constructor(
    @Inject(DG_CONFIG) private readonly config: DgConfig,
    private readonly bus: EventBus,
  ) {
    this.claims = new TranscriptClaims(bus, { groupIdPrefix: roleGroupId(config.topics.prefix, 'filter') });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.claims.start();
    this.subscription = await this.bus.subscribe({
      groupId: roleGroupId(this.config.topics.prefix, 'filter'),
      topics: ROLE_INPUTS.filter,
      handler: (event) => this.handle(event),
    });
  }

  /**
   * Drain in order, before the bus stops every subscription at once: running handlers wait for their
   * claim to be read back, so the claims reader must outlive them.
   */
  async beforeApplicationShutdown(): Promise<void> {
    await this.subscription?.stop();
    await this.claims.stop();
  }

  async handle(event: GameJudged): Promise<void> {
    const gameId = event.game.header.gameId;
    const now = Date.now();
    let curation = curate(event, { now });
    // Only a game that would be kept claims its transcript ("already kept" is what makes a duplicate).
    if (curation.kept) {
      const hash = transcriptHash(event.game);
      const owner = await this.claims.claim(hash, gameId, event.game.header.runId);
      if (owner !== gameId) curation = curate(event, { now, seenTranscriptHashes: new Set([hash]) });
    }
    await this.bus.publish('gameCurated', gameId, { ...event, curation });
  }
}
