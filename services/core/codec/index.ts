export * from './event-codec';
export * from './registry-client';
export * from './schemas';
export * from './validation';
export * from './wire';
export { runCodegen, generateEventTypes } from './codegen';
