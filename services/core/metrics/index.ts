export * from './metrics-server';
export * from './metrics.module';
export * from './model-call-observer';
export * from './model-limiter-adapter';
export * from './role-metrics';
