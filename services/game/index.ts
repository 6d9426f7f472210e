/** Pure game logic shared by the roles: prompts, requests, output parsing, turn decisions, referee and filter rules, fine-tuning examples. */
export * from './prompts';
export * from './transcript';
export * from './messages';
export * from './questioner-output';
export * from './answerer-output';
export * from './steps';
export * from './referee';
export * from './filter';
export * from './fine-tuning';
export { stripReasoning } from './model-output';
