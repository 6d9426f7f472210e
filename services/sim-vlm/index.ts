export * from './answerer';
export * from './behaviour';
export * from './conversation';
export * from './grammar';
export * from './questioner';
export * from './scene-reasoning';
export * from './server';
export * from './simulator';
