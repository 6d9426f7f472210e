export * from './image-url-resolver';
export * from './model-clients';
export * from './prompt-cache';
export * from './role-names';
export * from './model-turn';
