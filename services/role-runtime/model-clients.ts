import type { DgConfig } from '../core/config';
import { ModelClient } from '../core/model-client';

/** Injection tokens of the per-role model clients. */
export const QUESTIONER_MODEL = Symbol('QUESTIONER_MODEL');
export const ANSWERER_MODEL = Symbol('ANSWERER_MODEL');

export function questionerModelClient(config: DgConfig): ModelClient {
  return new ModelClient({ role: 'questioner', settings: config.models.questioner });
}

export function answererModelClient(config: DgConfig): ModelClient {
  return new ModelClient({ role: 'answerer', settings: config.models.answerer });
}
