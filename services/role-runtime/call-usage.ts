/** The price settings of a role (a subset of ModelRoleSettings). */
export interface ModelSettingsForRole {
  pricePromptPerMTok: number;
  priceCompletionPerMTok: number;
}

import type { CallUsage, ModelSpec } from '../../schemas/generated/events';

/** Causes the model client counts retries by (issue 7 item 2). */
export const RETRY_CAUSES = ['rate_limited', 'unavailable', 'server_error', 'connection', 'timeout'] as const;
export type RetryCause = (typeof RETRY_CAUSES)[number];

/**
 * Retries by cause as the model client reports them, read defensively.
 *
 * Reads `retries` from a ModelCompletion or from the ModelError a call finally failed with (both
 * carry RetryCounts), keeping only positive counts so events stay small.
 */
export function retriesOf(completionOrError: unknown): Record<string, number> {
  const retries = (completionOrError as { retries?: Partial<Record<string, unknown>> } | null | undefined)?.retries;
  const counts: Record<string, number> = {};
  if (retries === null || typeof retries !== 'object') return counts;
  for (const [cause, value] of Object.entries(retries)) {
    if (typeof value === 'number' && Number.isFinite(value) && value > 0) counts[cause] = Math.round(value);
  }
  return counts;
}

/** Cached prompt tokens when the endpoint reported them (ModelCompletion.cachedTokens). */
export function cachedTokensOf(completion: unknown): number {
  const cached = (completion as { cachedTokens?: unknown } | null | undefined)?.cachedTokens;
  return typeof cached === 'number' && Number.isFinite(cached) && cached > 0 ? Math.round(cached) : 0;
}

/** Adds retry counts (for a turn with a repair call). */
export function addRetries(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): Record<string, number> {
  const sum: Record<string, number> = { ...a };
  for (const [cause, n] of Object.entries(b)) sum[cause] = (sum[cause] ?? 0) + n;
  return sum;
}

/**
 * The spec a role really sends for a game: its client's settings (endpoint, prompt version,
 * sampling) with the game's model override, not the launcher's environment (issue 6 defect 4).
 */
export function sentSpec(clientSpec: ModelSpec, gameSpec: ModelSpec): ModelSpec {
  return { ...clientSpec, model: gameSpec.model || clientSpec.model, promptVersion: gameSpec.promptVersion || clientSpec.promptVersion };
}

/** A CallUsage with no call behind it yet (a model error: only the retries are known). */
export function emptyUsage(role: string, spec: ModelSpec, prices: ModelSettingsForRole): CallUsage {
  return {
    role,
    model: spec,
    rawOutput: '',
    latencyMs: 0,
    promptTokens: 0,
    completionTokens: 0,
    cachedTokens: 0,
    costUsd: 0,
    modelCalls: 0,
    retries: {},
    pricePromptPerMTok: prices.pricePromptPerMTok,
    priceCompletionPerMTok: prices.priceCompletionPerMTok,
  };
}
