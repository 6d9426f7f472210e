export * from './image-url-resolver';
export * from './model-clients';
export * from './model-turn';
export * from './call-usage';
export * from './model-call-journal';
export * from './turn-pipeline';
