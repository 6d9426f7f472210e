import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { DG_CONFIG, type DgConfig } from '../core/config';
import { EventBus, type MessageContext } from '../core/bus';
import type { ModelClient } from '../core/model-client';
import { callModelForTurn, ImageUrlResolver, PromptCache, QUESTIONER_MODEL, publishEnding, roleGroupId, ROLE_INPUTS, UnusableImageError, withEndpoint } from '../core/runtime';
import {
  badImageEnding,
  buildQuestionerMessages,
  deadlinePassed,
  decideQuestionerStep,
  modelErrorEnding,
  parseQuestionerOutput,
  timeoutEnding,
} from '../game';
import type { GameState } from '../../schemas/generated/events';

/**
 * The guesser: sees every candidate in display order, asks a question or guesses. Holds no game
 * state; each GameRequested / AnswerGiven carries all it needs.
 */
@Injectable()
export class QuestionerService implements OnApplicationBootstrap {
  private readonly prompts = new PromptCache();

  constructor(
    @Inject(DG_CONFIG) private readonly config: DgConfig,
    private readonly bus: EventBus,
    @Inject(QUESTIONER_MODEL) private readonly model: ModelClient,
    private readonly images: ImageUrlResolver,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.bus.subscribe({
      groupId: roleGroupId(this.config.topics.prefix, 'questioner'),
      topics: ROLE_INPUTS.questioner,
      maxInFlight: Math.max(this.config.kafka.maxInFlight, this.config.models.questioner.concurrency),
      handler: (event, ctx) => this.handle(event.game, ctx),
    });
  }

  async handle(received: GameState, ctx: MessageContext<'gameRequested' | 'answerGiven'>): Promise<void> {
    // describeFirst games open with the answerer's description.
    if (ctx.topicKey === 'gameRequested' && received.setup.describeFirst) return;
    const game = withEndpoint(received, 'questioner', this.model.endpoint);
    const gameId = game.header.gameId;
    const now = Date.now();
    if (deadlinePassed(game, now)) {
      await publishEnding(this.bus, game, timeoutEnding(game, 'questioner', now));
      return;
    }
    let imageUrls: Map<string, string>;
    try {
      imageUrls = await this.images.urlsFor(game.setup.candidates);
    } catch (err) {
      if (!(err instanceof UnusableImageError)) throw err;
      ctx.logger.warn('game ends: unusable image', { gameId, error: err.message });
      await publishEnding(this.bus, game, badImageEnding('questioner', err.image, err.reason, Date.now()));
      return;
    }
    let messages;
    try {
      messages = buildQuestionerMessages(game, imageUrls, this.prompts.get(game.setup.questioner.promptVersion));
    } catch (err) {
      await publishEnding(this.bus, game, modelErrorEnding('questioner', `cannot build the questioner request: ${(err as Error).message}`, Date.now()));
      return;
    }
    const result = await callModelForTurn(this.model, messages, game, game.setup.questioner, ctx.signal);
    if (!result.ok) {
      ctx.logger.warn('game ends: questioner model error', { gameId, error: result.message });
      await publishEnding(this.bus, game, modelErrorEnding('questioner', result.message, Date.now()));
      return;
    }
    const parsed = parseQuestionerOutput(result.call.text, game.setup.candidates.length);
    const step = decideQuestionerStep(game, parsed, result.call, Date.now());
    if (step.kind === 'question') await this.bus.publish('questionAsked', gameId, step.event);
    else await this.bus.publish('guessMade', gameId, step.event);
  }
}
