import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ROLE_NAMES } from '../../services/core/runtime';

/**
 * docker-compose.yml cannot be run here (no Docker engine); this checks its shape: the three
 * official-image components on the local stack's addresses, bound to 127.0.0.1 only, and every
 * role as `dg run <role>` from the one project image.
 */

interface Service {
  image?: string;
  command?: string[];
  ports?: string[];
  environment?: Record<string, string>;
}

const compose = parse(readFileSync(join(__dirname, '..', '..', 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };

it('publishes Kafka, the schema registry and ClickHouse from official images on 127.0.0.1 only', () => {
  const { kafka, 'schema-registry': registry, clickhouse } = compose.services;
  expect(kafka?.image).toMatch(/^apache\/kafka:3\.9\./);
  expect(registry?.image).toMatch(/^apicurio\/apicurio-registry/);
  expect(clickhouse?.image).toMatch(/^clickhouse\/clickhouse-server:/);
  expect(kafka?.ports).toContain('127.0.0.1:9092:9092');
  expect(registry?.ports).toContain('127.0.0.1:8081:8080');
  expect(clickhouse?.ports).toContain('127.0.0.1:8123:8123');
  const published = Object.values(compose.services).flatMap((s) => s.ports ?? []);
  expect(published.filter((p) => !p.startsWith('127.0.0.1:'))).toEqual([]);
});

it('runs every role from the one project image, pointed at the containers', () => {
  for (const role of ROLE_NAMES) {
    const service = compose.services[role];
    expect(service?.command).toEqual(['run', role]);
    expect(service?.image).toBe(compose.services.questioner?.image);
    expect(service?.environment).toMatchObject({ KAFKA_BROKERS: 'kafka:19092', CLICKHOUSE_URL: 'http://clickhouse:8123' });
  }
  expect(compose.services.migrate?.command).toEqual(['migrate']);
});

it('runs every project container as a non-root user on a read-only root filesystem, writable only where it must be', () => {
  const hardened = compose as unknown as { services: Record<string, Service & { user?: string; read_only?: boolean; tmpfs?: string[]; cap_drop?: string[]; security_opt?: string[]; volumes?: string[] }> };
  for (const name of [...ROLE_NAMES, 'migrate', 'sim-vlm']) {
    const service = hardened.services[name];
    expect({ name, user: service?.user, readOnly: service?.read_only }).toEqual({ name, user: '1000:1000', readOnly: true });
    expect(service?.user?.split(':')[0]).not.toBe('0');
    expect(service?.tmpfs).toContain('/tmp');
    expect(service?.cap_drop).toEqual(['ALL']);
    expect(service?.security_opt).toContain('no-new-privileges:true');
    expect(service?.volumes).toContain('scenes:/datasets');
  }
  expect(hardened.services.sink?.volumes).toContain('dataset:/data');
  const dockerfile = readFileSync(join(__dirname, '..', '..', 'Dockerfile'), 'utf8');
  expect(dockerfile).toMatch(/^USER node$/m);
  expect(dockerfile).toMatch(/chown -R node:node \/app \/data \/datasets/);
});
