export * from './model-client';
export * from './semaphore';
