/**
 * The simulated VLM: an OpenAI-compatible server that plays the dialog game on synthetic scenes by
 * reading the scene JSON embedded in each PNG (`startSimVlm`), and its transport-free core
 * (`simulateCompletion`, the question grammar, questioner and answerer logic). Always labelled a
 * SIMULATOR. Behaviour knobs and the model-name scheme: behaviour.ts.
 */
export * from './answerer';
export * from './behaviour';
export * from './conversation';
export * from './grammar';
export * from './questioner';
export * from './scene-reasoning';
export * from './server';
export * from './simulator';
