import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { DG_CONFIG, type DgConfig } from '../core/config';
import { EventBus, type MessageContext, type Subscription } from '../core/bus';
import type { ModelClient } from '../core/model-client';
import {
  ImageUrlResolver,
  ModelCallJournal,
  modelCallJournalFromConfig,
  playTurn,
  QUESTIONER_MODEL,
  withSentSpec,
  type TurnPipelineDeps,
} from '../role-runtime';
import { roleGroupId, ROLE_INPUTS } from '../core/bus';
import { buildQuestionerMessages, decideQuestionerStep, parseQuestionerOutput, loadPrompts } from '../game';
import type { GameState } from '../../schemas/generated/events';

/**
 * The guesser: sees every candidate in display order, asks a question or guesses. Holds no game
 * state; each GameRequested / AnswerGiven carries all it needs. Model calls go through the
 * model-call journal (role-runtime/model-call-journal.ts): a redelivered turn never calls again.
 */
@Injectable()
export class QuestionerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly journal: ModelCallJournal;
  private subscription: Subscription | undefined;
  private readonly deps: TurnPipelineDeps;

  constructor(
    @Inject(DG_CONFIG) private readonly config: DgConfig,
    private readonly bus: EventBus,
    @Inject(QUESTIONER_MODEL) private readonly model: ModelClient,
    private readonly images: ImageUrlResolver,
  ) {
    this.journal = modelCallJournalFromConfig(bus, config, 'questioner');
    this.deps = { role: 'questioner', bus, model, settings: config.models.questioner, journal: this.journal, subscription: () => this.subscription };
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.journal.start();
    this.subscription = await this.bus.subscribe({
      groupId: roleGroupId(this.config.topics.prefix, 'questioner'),
      topics: ROLE_INPUTS.questioner,
      // Enough handlers for the endpoint limiter to climb to its ceiling.
      maxInFlight: Math.max(this.config.kafka.maxInFlight, this.config.models.questioner.maxConcurrency ?? this.config.models.questioner.concurrency),
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

  async handle(received: GameState, ctx: MessageContext<'gameRequested' | 'answerGiven'>): Promise<void> {
    // describeFirst games open with the answerer's description.
    if (ctx.topicKey === 'gameRequested' && received.setup.describeFirst) return;
    const game = withSentSpec(received, 'questioner', this.model.modelSpec());
    const numCandidates = game.setup.candidates.length;
    await playTurn(this.deps, game, ctx, {
      buildMessages: async () => {
        const prompts = loadPrompts(game.setup.questioner.promptVersion);
        const imageUrls = await this.images.urlsFor(game.setup.candidates);
        return buildQuestionerMessages(game, imageUrls, prompts);
      },
      accept: (text) => parseQuestionerOutput(text, numCandidates).kind !== 'unparseable',
      repairInstruction: this.repairInstruction(game),
      publishStep: async (call, now) => {
        const step = decideQuestionerStep(game, parseQuestionerOutput(call.text, numCandidates), call, now);
        if (step.kind === 'question') await this.bus.publish('questionAsked', game.header.gameId, step.event);
        else await this.bus.publish('guessMade', game.header.gameId, step.event);
      },
    });
  }

  private repairInstruction(game: GameState): string | null {
    try {
      return loadPrompts(game.setup.questioner.promptVersion).optional?.['questioner.repair'] ?? null;
    } catch {
      return null;
    }
  }
}
