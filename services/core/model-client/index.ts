export * from './limiter';
export * from './model-client';
export { emptyRetryCounts, RETRY_CAUSES, type ModelErrorClass, type RetryCause, type RetryCounts } from '../errors';
