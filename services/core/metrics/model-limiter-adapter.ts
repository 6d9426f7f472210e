/**
 * Where the model-concurrency gauges read from: the adaptive per-endpoint limiter of
 * services/core/model-client exports snapshots {endpoint, model, limit, inFlight, queued}. That
 * limiter is not on this branch yet, so this adapter is a deliberate NO-OP returning no snapshots
 * (the gauges stay empty); at the merge, point modelLimiterSnapshots at the limiter's export.
 * Until then dg_model_requests_in_flight (from HTTP diagnostics) shows requests actually in flight.
 */
export interface ModelLimiterSnapshot {
  endpoint: string;
  model: string;
  limit: number;
  inFlight: number;
  queued: number;
}

export function modelLimiterSnapshots(): ModelLimiterSnapshot[] {
  return [];
}
