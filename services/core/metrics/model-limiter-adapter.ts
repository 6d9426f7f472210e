import { endpointLimiterSnapshots } from '../model-client';

/**
 * Where the model-concurrency gauges read from: the process's adaptive per-endpoint limiters
 * (services/core/model-client), reduced to the figures the gauges show.
 */
export interface ModelLimiterSnapshot {
  endpoint: string;
  model: string;
  limit: number;
  inFlight: number;
  queued: number;
}

export function modelLimiterSnapshots(): ModelLimiterSnapshot[] {
  return endpointLimiterSnapshots().map(({ endpoint, model, limit, inFlight, queued }) => ({ endpoint, model, limit, inFlight, queued }));
}
