export * from './config';
export * from './config.module';
export * from './cli';
export * from './repo-root';
