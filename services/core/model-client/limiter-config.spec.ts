import { ConfigError } from '../errors';
import { loadConfig } from '../config';
import { limiterSettings } from './model-client';

/** The limiter's variables: parsed with the rest of the config, named when wrong. */
describe('limiter configuration', () => {
  it('starts at <ROLE>_CONCURRENCY, tops out at <ROLE>_MAX_CONCURRENCY, with optional RPM/TPM caps', () => {
    const config = loadConfig({
      ANSWERER_CONCURRENCY: '4',
      ANSWERER_MAX_CONCURRENCY: '32',
      ANSWERER_LATENCY_TARGET_MS: '2500',
      ANSWERER_MAX_RPM: '600',
      ANSWERER_MAX_TPM: '',
    });
    expect(limiterSettings(config.models.answerer)).toEqual({ initialLimit: 4, maxLimit: 32, latencyTargetMs: 2500, maxRpm: 600, maxTpm: null });
    expect(limiterSettings(loadConfig({}).models.questioner)).toEqual({ initialLimit: 8, maxLimit: 64, latencyTargetMs: 15_000, maxRpm: null, maxTpm: null });
  });

  it('never sets the ceiling below the starting limit, and is fixed when no ceiling is given', () => {
    const config = loadConfig({ QUESTIONER_CONCURRENCY: '16', QUESTIONER_MAX_CONCURRENCY: '4' });
    expect(limiterSettings(config.models.questioner)).toMatchObject({ initialLimit: 16, maxLimit: 16 });
    const { maxConcurrency: _omitted, ...handMade } = config.models.questioner;
    expect(limiterSettings(handMade)).toMatchObject({ initialLimit: 16, maxLimit: 16 });
  });

  it('names a bad variable', () => {
    let error: unknown;
    try {
      loadConfig({ QUESTIONER_MAX_RPM: 'lots', ANSWERER_MAX_CONCURRENCY: '0' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => i.variable).sort()).toEqual(['ANSWERER_MAX_CONCURRENCY', 'QUESTIONER_MAX_RPM']);
  });
});
