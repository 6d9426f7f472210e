import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { DG_CONFIG, type DgConfig } from '../core/config';
import { EventBus, type MessageContext, type Subscription } from '../core/bus';
import { NonRetriableError } from '../core/errors';
import type { ModelClient } from '../core/model-client';
import { ANSWERER_MODEL, ImageUrlResolver, ModelCallJournal, modelCallJournalFromConfig, playTurn, withSentSpec, type TurnPipelineDeps } from '../role-runtime';
import { roleGroupId, ROLE_INPUTS } from '../core/bus';
import { answererRequestKind, buildAnswererMessages, decideAnswererStep, parseAnswererOutput, loadPrompts } from '../game';
import type { GameState } from '../../schemas/generated/events';

/**
 * The describer: sees only the target image and answers the last question (or opens a describeFirst
 * game with a description). The questioner's display order never reaches its model. Model calls go
 * through the model-call journal like the questioner's.
 */
@Injectable()
export class AnswererService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly journal: ModelCallJournal;
  private subscription: Subscription | undefined;
  private readonly deps: TurnPipelineDeps;

  constructor(
    @Inject(DG_CONFIG) private readonly config: DgConfig,
    private readonly bus: EventBus,
    @Inject(ANSWERER_MODEL) private readonly model: ModelClient,
    private readonly images: ImageUrlResolver,
  ) {
    this.journal = modelCallJournalFromConfig(bus, config, 'answerer');
    this.deps = { role: 'answerer', bus, model, settings: config.models.answerer, journal: this.journal, subscription: () => this.subscription };
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.journal.start();
    this.subscription = await this.bus.subscribe({
      groupId: roleGroupId(this.config.topics.prefix, 'answerer'),
      topics: ROLE_INPUTS.answerer,
      // Enough handlers for the endpoint limiter to climb to its ceiling.
      maxInFlight: Math.max(this.config.kafka.maxInFlight, this.config.models.answerer.maxConcurrency ?? this.config.models.answerer.concurrency),
      handler: (event, ctx) => this.handle(event.game, ctx),
    });
  }

  /**
   * Drains this role's input first, while the journal reader still answers barriers, then stops the
   * reader (runs before the bus's own shutdown, which would stop both at once).
   */
  async beforeApplicationShutdown(): Promise<void> {
    await this.subscription?.stop();
    await this.journal.stop();
  }

  async handle(received: GameState, ctx: MessageContext<'questionAsked' | 'gameRequested'>): Promise<void> {
    if (ctx.topicKey === 'gameRequested' && !received.setup.describeFirst) return;
    const game = withSentSpec(received, 'answerer', this.model.modelSpec());
    const { questionMode } = game.setup;
    const requestKind = answererRequestKind(game);
    await playTurn(this.deps, game, ctx, {
      buildMessages: async () => {
        const target = game.setup.candidates[game.setup.targetIndex];
        if (target === undefined)
          throw new NonRetriableError(`targetIndex ${game.setup.targetIndex} is outside the ${game.setup.candidates.length} candidates`);
        const prompts = loadPrompts(game.setup.answerer.promptVersion);
        return buildAnswererMessages(game, await this.images.urlFor(target), prompts);
      },
      accept: (text) => parseAnswererOutput(text, questionMode, requestKind).kind !== 'unparseable',
      repairInstruction: this.repairInstruction(game),
      publishStep: async (call, now) => {
        const step = decideAnswererStep(game, parseAnswererOutput(call.text, questionMode, requestKind), call, now);
        if (step.kind === 'answer') await this.bus.publish('answerGiven', game.header.gameId, step.event);
        else await this.bus.publish('guessMade', game.header.gameId, step.event);
      },
    });
  }

  private repairInstruction(game: GameState): string | null {
    try {
      return loadPrompts(game.setup.answerer.promptVersion).optional?.['answerer.repair'] ?? null;
    } catch {
      return null;
    }
  }
}
