import { untrainedModelRecord } from './registry';

/** The one builder of a registry record without a training set (dg models register, dg iterate's base model). */
describe('untrainedModelRecord', () => {
  it('keeps the given lineage and leaves every training field empty', () => {
    const before = Date.now();
    const record = untrainedModelRecord({ name: 'm0', endpoint: 'http://127.0.0.1:1/v1', role: 'answerer', parent: '', base_model: 'm0', iteration: 0 });
    expect(record).toEqual({
      name: 'm0',
      endpoint: 'http://127.0.0.1:1/v1',
      role: 'answerer',
      parent: '',
      base_model: 'm0',
      iteration: 0,
      train_iterations: [],
      train_view: '',
      train_games: 0,
      train_hash: '',
      train_dir: '',
      hook: '',
      hook_output: '',
      created_at_ms: expect.any(Number),
    });
    expect(record.created_at_ms).toBeGreaterThanOrEqual(before);
  });
});
