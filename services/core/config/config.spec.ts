import 'reflect-metadata';
import { Inject, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { join } from 'node:path';
import { ConfigError } from '../errors/errors';
import { resetLogging } from '../logging/logger';
import { DG_CONFIG, DgConfigModule } from './config.module';
import { loadConfigOrExit } from './cli';
import { CONFIG_VARIABLES, DgConfig, loadConfig, parseLatencySpec } from './config';
import { repoRoot } from './repo-root';
import { DEFAULT_BUS_CONFIG } from '../bus/bus-config';

function issuesOf(fn: () => unknown): Array<{ variable: string; message: string }> {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return [...err.issues];
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('defaults point at the local stack', () => {
    const config = loadConfig({});
    expect(config.kafka.brokers).toEqual(['127.0.0.1:9092']);
    expect(config.kafka.clientId).toBe('dialog-games');
    expect(config.kafka).toMatchObject({ sessionTimeoutMs: 30000, rebalanceTimeoutMs: 60000, heartbeatIntervalMs: 3000, maxInFlight: 16 });
    expect(config.schemaRegistry.url).toBe('http://127.0.0.1:8081/apis/ccompat/v7');
    expect(config.clickhouse).toEqual({ url: 'http://127.0.0.1:8123', database: 'dialog_games', user: 'default', password: '' });
    expect(config.topics.prefix).toBe('dg.');
    expect(config.shutdownTimeoutMs).toBe(15000);
    expect(config.retry).toEqual({ maxAttempts: 5, initialDelayMs: 100, maxDelayMs: 10000 });
    expect(config.log).toEqual({ level: 'info', format: 'json' });
    expect(config.paths.dataDir).toBe(join(repoRoot(), '.dg', 'data'));
    expect(config.paths.datasetsDir).toBe(join(repoRoot(), '.dg', 'datasets'));
    expect(config.game.deadlineMs).toBe(600000);
    expect(config.journal.graceAfterDeadlineMs).toBe(600000);
    expect(loadConfig({ DG_JOURNAL_GRACE_MS: '60000' }).journal.graceAfterDeadlineMs).toBe(60000);
    expect(config.journal.holdInFullMs).toBe(120000);
    expect(loadConfig({ DG_JOURNAL_HOLD_IN_FULL_MS: '5000' }).journal.holdInFullMs).toBe(5000);
    expect(config.journal.readWaitMs).toBe(250);
    expect(loadConfig({ DG_JOURNAL_READ_WAIT_MS: '0' }).journal.readWaitMs).toBe(0);
    expect(config.models.questioner).toMatchObject({
      baseUrl: 'http://127.0.0.1:8000/v1',
      model: 'sim-vlm',
      apiKey: 'sim-local',
      topP: null,
      concurrency: 8,
      timeoutMs: 60000,
      promptVersion: 'v1',
      pricePromptPerMTok: 0,
      priceCompletionPerMTok: 0,
    });
    expect(config.models.answerer.model).toBe('sim-vlm');
    expect(config.simVlm).toEqual({ host: '127.0.0.1', port: 8000, errorRate: 0, latency: { meanMs: 0, jitterMs: 0 }, faults: '' });
  });

  it('reads the environment and lets overrides win', () => {
    const config = loadConfig(
      {
        KAFKA_BROKERS: 'a:1, b:2',
        DG_TOPIC_PREFIX: 'test-1.',
        QUESTIONER_TOP_P: '0.9',
        DG_LOG_FORMAT: 'PRETTY',
        SCHEMA_REGISTRY_URL: 'http://r:8081/apis/ccompat/v7/',
      },
      { DG_TOPIC_PREFIX: 'flag.', DG_MAX_IN_FLIGHT: 4, ANSWERER_MODEL: 'gpt-x' },
    );
    expect(config.kafka.brokers).toEqual(['a:1', 'b:2']);
    expect(config.topics.prefix).toBe('flag.');
    expect(config.kafka.maxInFlight).toBe(4);
    expect(config.models.questioner.topP).toBe(0.9);
    expect(config.models.answerer.model).toBe('gpt-x');
    expect(config.log.format).toBe('pretty');
    expect(config.schemaRegistry.url).toBe('http://r:8081/apis/ccompat/v7');
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ KAFKA_BROKERS: '' }, { DG_TOPIC_PREFIX: '' }).kafka.brokers).toEqual(['127.0.0.1:9092']);
  });

  it('is deeply frozen', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config.models.questioner)).toBe(true);
    expect(Object.isFrozen(config.kafka.brokers)).toBe(true);
  });

  it.each([
    ['KAFKA_BROKERS', 'nope', 'KAFKA_BROKERS: expected host:port list, got "nope"'],
    ['KAFKA_BROKERS', 'a:1,b:99999', 'expected host:port list'],
    ['SCHEMA_REGISTRY_URL', 'ftp://x', 'expected an http(s) URL, got "ftp://x"'],
    ['CLICKHOUSE_URL', 'localhost:8123', 'expected an http(s) URL'],
    ['CLICKHOUSE_DATABASE', 'drop table; --', 'expected an identifier'],
    ['DG_TOPIC_PREFIX', 'has space', 'expected up to 100 of'],
    ['DG_MAX_IN_FLIGHT', '0', 'expected an integer between 1 and 10000, got "0"'],
    ['DG_MAX_IN_FLIGHT', 'many', 'expected an integer between 1 and 10000, got "many"'],
    ['KAFKA_SESSION_TIMEOUT_MS', '1.5', 'expected an integer >= 1000'],
    ['DG_LOG_LEVEL', 'loud', 'expected one of trace, debug, info, warn, error, silent, got "loud"'],
    ['DG_LOG_FORMAT', 'xml', 'expected one of json, pretty'],
    ['QUESTIONER_TEMPERATURE', 'hot', 'expected a number between 0 and 2, got "hot"'],
    ['ANSWERER_TOP_P', '1.5', 'expected a number between 0 and 1'],
    ['ANSWERER_BASE_URL', 'not a url', 'expected an http(s) URL'],
    ['QUESTIONER_CONCURRENCY', '-1', 'expected an integer between 1 and 10000'],
    ['SIM_VLM_PORT', '70000', 'expected an integer between 0 and 65535'],
    ['SIM_VLM_ERROR_RATE', '2', 'expected a number between 0 and 1'],
    ['SIM_VLM_LATENCY_MS', 'slow', 'expected <ms> or mean:<ms>,jitter:<ms>, got "slow"'],
    ['DG_GAME_DEADLINE_MS', '10', 'expected an integer >= 1000'],
    ['DG_JOURNAL_GRACE_MS', '-5', 'expected an integer >= 0'],
    ['DG_JOURNAL_HOLD_IN_FULL_MS', '1.5', 'expected an integer >= 0'],
    ['DG_JOURNAL_READ_WAIT_MS', '60000', 'expected an integer'],
  ])('%s=%j is rejected by name', (variable, value, expected) => {
    const issues = issuesOf(() => loadConfig({ [variable]: value }));
    expect(issues).toHaveLength(1);
    expect(`${issues[0].variable}: ${issues[0].message}`).toContain(expected);
    expect(issues[0].variable).toBe(variable);
  });

  it('reports every bad variable at once', () => {
    let error: unknown;
    try {
      loadConfig({ KAFKA_BROKERS: 'nope', DG_MAX_IN_FLIGHT: 'x' }, { CLICKHOUSE_URL: 'nowhere', SIM_VLM_PORT: -3 });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const configError = error as ConfigError;
    expect(configError.issues.map((i) => i.variable).sort()).toEqual(['CLICKHOUSE_URL', 'DG_MAX_IN_FLIGHT', 'KAFKA_BROKERS', 'SIM_VLM_PORT']);
    expect(configError.message).toContain('KAFKA_BROKERS: expected host:port list, got "nope"');
    expect(configError.message).toContain('SIM_VLM_PORT:');
    expect(configError.retriable).toBe(false);
  });

  it('checks settings that only make sense together', () => {
    expect(issuesOf(() => loadConfig({ KAFKA_HEARTBEAT_INTERVAL_MS: '30000' })).map((i) => i.variable)).toEqual(['KAFKA_HEARTBEAT_INTERVAL_MS']);
    expect(issuesOf(() => loadConfig({ DG_RETRY_INITIAL_MS: '500', DG_RETRY_MAX_MS: '100' })).map((i) => i.variable)).toEqual(['DG_RETRY_INITIAL_MS']);
  });

  it('has the documented variable names', () => {
    for (const name of ['KAFKA_BROKERS', 'QUESTIONER_PRICE_COMPLETION_PER_MTOK', 'ANSWERER_PROMPT_VERSION', 'SIM_VLM_LATENCY_MS', 'DG_DATASETS_DIR']) {
      expect(CONFIG_VARIABLES).toContain(name);
    }
  });
});

describe('parseLatencySpec', () => {
  it.each([
    ['0', { meanMs: 0, jitterMs: 0 }],
    ['120', { meanMs: 120, jitterMs: 0 }],
    ['mean:50,jitter:20', { meanMs: 50, jitterMs: 20 }],
    ['jitter:5', { meanMs: 0, jitterMs: 5 }],
    [' mean: 7 ', { meanMs: 7, jitterMs: 0 }],
  ])('%j', (text, expected) => expect(parseLatencySpec(text)).toEqual(expected));

  it.each(['', 'fast', 'mean:-1', 'mean:5,mean:6', 'median:5'])('rejects %j', (text) => expect(parseLatencySpec(text)).toBeUndefined());
});

describe('loadConfigOrExit', () => {
  afterEach(() => resetLogging());

  it('prints every problem and exits 2', () => {
    const printed: string[] = [];
    const exit = jest.fn((code: number): never => {
      throw new Error(`exit ${code}`);
    });
    expect(() => loadConfigOrExit({}, { env: { KAFKA_BROKERS: 'nope', DG_LOG_LEVEL: 'x' }, stderr: (t) => printed.push(t), exit })).toThrow('exit 2');
    expect(printed.join('')).toContain('KAFKA_BROKERS: expected host:port list, got "nope"');
    expect(printed.join('')).toContain('DG_LOG_LEVEL');
  });

  it('returns the config when valid', () => {
    expect(loadConfigOrExit({ DG_TOPIC_PREFIX: 'x.' }, { env: { DG_LOG_LEVEL: 'silent' } }).topics.prefix).toBe('x.');
  });
});

describe('DgConfigModule', () => {
  it('injects the config under DG_CONFIG in any module', async () => {
    @Injectable()
    class NeedsConfig {
      constructor(@Inject(DG_CONFIG) readonly config: DgConfig) {}
    }
    @Module({ providers: [NeedsConfig] })
    class FeatureModule {}
    @Module({ imports: [DgConfigModule.forRoot(loadConfig({}, { DG_TOPIC_PREFIX: 'nest.' })), FeatureModule] })
    class AppModule {}

    const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
    try {
      expect(app.get(NeedsConfig).config.topics.prefix).toBe('nest.');
    } finally {
      await app.close();
    }
  });
});

// Issue 6, defect 7: the bus kept its own defaults (shutdown 30 s vs 15 s, first retry 200 vs 100 ms).
describe('one table of defaults', () => {
  it('gives the bus the config defaults', () => {
    const config = loadConfig({});
    expect(DEFAULT_BUS_CONFIG.shutdownTimeoutMs).toBe(config.shutdownTimeoutMs);
    expect(DEFAULT_BUS_CONFIG.handlerRetry).toMatchObject(config.retry);
    expect(DEFAULT_BUS_CONFIG.deadLetterBackoff).toEqual({ initialDelayMs: config.retry.initialDelayMs, maxDelayMs: config.retry.maxDelayMs });
    expect(DEFAULT_BUS_CONFIG.kafka).toMatchObject({ brokers: config.kafka.brokers, clientId: config.kafka.clientId });
    expect(DEFAULT_BUS_CONFIG.consumer).toMatchObject({
      sessionTimeoutMs: config.kafka.sessionTimeoutMs,
      rebalanceTimeoutMs: config.kafka.rebalanceTimeoutMs,
      heartbeatIntervalMs: config.kafka.heartbeatIntervalMs,
      maxInFlight: config.kafka.maxInFlight,
    });
    expect(DEFAULT_BUS_CONFIG.topicPrefix).toBe(config.topics.prefix);
  });

  it('parses the local stack variables with the same parser and names the bad one', () => {
    expect(loadConfig({}).stack).toMatchObject({
      dir: '.dg/stack',
      startTimeoutMs: 120_000,
      ports: { kafka: 9092, kafkaController: 9093, schemaRegistry: 8081, clickhouseHttp: 8123, clickhouseTcp: 9000 },
    });
    expect(
      issuesOf(() => loadConfig({ KAFKA_PORT: '70000', DG_STACK_STOP_TIMEOUT_S: '-1' }))
        .map((i) => i.variable)
        .sort(),
    ).toEqual(['DG_STACK_STOP_TIMEOUT_S', 'KAFKA_BROKERS', 'KAFKA_PORT']);
  });
});
