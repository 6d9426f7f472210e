import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { DG_CONFIG, type DgConfig } from '../core/config';
import { EventBus, type MessageContext } from '../core/bus';
import type { ModelClient } from '../core/model-client';
import { ANSWERER_MODEL, callModelForTurn, ImageUrlResolver, PromptCache, publishEnding, roleGroupId, ROLE_INPUTS, UnusableImageError, withEndpoint } from '../core/runtime';
import {
  answererRequestKind,
  badImageEnding,
  buildAnswererMessages,
  deadlinePassed,
  decideAnswererStep,
  modelErrorEnding,
  parseAnswererOutput,
  timeoutEnding,
} from '../game';
import type { GameState } from '../../schemas/generated/events';

/**
 * The describer: sees only the target image and answers the last question (or opens a describeFirst
 * game with a description). The questioner's display order never reaches its model.
 */
@Injectable()
export class AnswererService implements OnApplicationBootstrap {
  private readonly prompts = new PromptCache();

  constructor(
    @Inject(DG_CONFIG) private readonly config: DgConfig,
    private readonly bus: EventBus,
    @Inject(ANSWERER_MODEL) private readonly model: ModelClient,
    private readonly images: ImageUrlResolver,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.bus.subscribe({
      groupId: roleGroupId(this.config.topics.prefix, 'answerer'),
      topics: ROLE_INPUTS.answerer,
      maxInFlight: Math.max(this.config.kafka.maxInFlight, this.config.models.answerer.concurrency),
      handler: (event, ctx) => this.handle(event.game, ctx),
    });
  }

  async handle(received: GameState, ctx: MessageContext<'questionAsked' | 'gameRequested'>): Promise<void> {
    if (ctx.topicKey === 'gameRequested' && !received.setup.describeFirst) return;
    const game = withEndpoint(received, 'answerer', this.model.endpoint);
    const gameId = game.header.gameId;
    const now = Date.now();
    if (deadlinePassed(game, now)) {
      await publishEnding(this.bus, game, timeoutEnding(game, 'answerer', now));
      return;
    }
    const target = game.setup.candidates[game.setup.targetIndex];
    if (target === undefined) {
      await publishEnding(this.bus, game, modelErrorEnding('answerer', `targetIndex ${game.setup.targetIndex} is outside the ${game.setup.candidates.length} candidates`, now));
      return;
    }
    let targetUrl: string;
    try {
      targetUrl = await this.images.urlFor(target);
    } catch (err) {
      if (!(err instanceof UnusableImageError)) throw err;
      ctx.logger.warn('game ends: unusable target image', { gameId, error: err.message });
      await publishEnding(this.bus, game, badImageEnding('answerer', err.image, err.reason, Date.now()));
      return;
    }
    let messages;
    try {
      messages = buildAnswererMessages(game, targetUrl, this.prompts.get(game.setup.answerer.promptVersion));
    } catch (err) {
      await publishEnding(this.bus, game, modelErrorEnding('answerer', `cannot build the answerer request: ${(err as Error).message}`, Date.now()));
      return;
    }
    const result = await callModelForTurn(this.model, messages, game, game.setup.answerer, ctx.signal);
    if (!result.ok) {
      ctx.logger.warn('game ends: answerer model error', { gameId, error: result.message });
      await publishEnding(this.bus, game, modelErrorEnding('answerer', result.message, Date.now()));
      return;
    }
    const parsed = parseAnswererOutput(result.call.text, game.setup.questionMode, answererRequestKind(game));
    const step = decideAnswererStep(game, parsed, result.call, Date.now());
    if (step.kind === 'answer') await this.bus.publish('answerGiven', gameId, step.event);
    else await this.bus.publish('guessMade', gameId, step.event);
  }
}
