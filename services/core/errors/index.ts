export * from './errors';
export * from './retry';
