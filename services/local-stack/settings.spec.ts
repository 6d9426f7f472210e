import { DEFAULT_PORTS, stackAddresses, stackSettingsFromEnv } from './settings';

describe('stackSettingsFromEnv', () => {
  const root = '/repo';

  it('defaults to the project-local folders and the documented ports', () => {
    const settings = stackSettingsFromEnv({}, root);
    expect(settings.stackDir).toBe('/repo/.dg/stack');
    expect(settings.cacheDir).toBe('/repo/.dg/cache');
    expect(settings.ports).toEqual(DEFAULT_PORTS);
    expect(stackAddresses(settings)).toEqual({
      kafkaBrokers: '127.0.0.1:9092',
      schemaRegistryUrl: 'http://127.0.0.1:8081/apis/ccompat/v7',
      clickhouseUrl: 'http://127.0.0.1:8123',
    });
  });

  it('takes folders and ports from the environment', () => {
    const settings = stackSettingsFromEnv({ DG_STACK_DIR: '/tmp/s', KAFKA_PORT: '19092', SCHEMA_REGISTRY_PORT: '18081', DG_STACK_START_TIMEOUT_S: '5' }, root);
    expect(settings.stackDir).toBe('/tmp/s');
    expect(settings.ports.kafka).toBe(19092);
    expect(settings.startTimeoutMs).toBe(5000);
    expect(stackAddresses(settings).schemaRegistryUrl).toBe('http://127.0.0.1:18081/apis/ccompat/v7');
  });

  it('names the variable of a bad port', () => {
    expect(() => stackSettingsFromEnv({ CLICKHOUSE_HTTP_PORT: 'http' }, root)).toThrow(/CLICKHOUSE_HTTP_PORT/);
    expect(() => stackSettingsFromEnv({ KAFKA_PORT: '70000' }, root)).toThrow(/KAFKA_PORT/);
  });

  it('refuses two components on one port', () => {
    expect(() => stackSettingsFromEnv({ CLICKHOUSE_TCP_PORT: '9092' }, root)).toThrow(/kafka and clickhouseTcp are both 9092/);
  });
});
