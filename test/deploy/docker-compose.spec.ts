import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ROLE_NAMES } from '../../services/core/bus';
import { ROLE_NODE_FLAGS, ROLE_PROCESS_ENV } from '../../services/bench/bound-bench';

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
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
}

const compose = parse(readFileSync(join(__dirname, '..', '..', 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};

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

it('persists the schema registry in Kafka, next to the log whose records cite its schema ids (issue 6, defect 11)', () => {
  const registry = compose.services['schema-registry']!;
  // kafkasql storage: the in-memory image would forget every schema id on restart while Kafka keeps the records.
  expect(registry.image).toMatch(/^apicurio\/apicurio-registry-kafkasql:2\.6\./);
  expect(registry.image).not.toMatch(/-mem:/);
  expect(registry.environment).toMatchObject({ KAFKA_BOOTSTRAP_SERVERS: 'kafka:19092' });
  expect(registry.depends_on).toMatchObject({ kafka: { condition: 'service_healthy' } });
});

it('keeps the dataset on a named volume and gives the players the image folders (issue 6, defect 6)', () => {
  expect(compose.services.sink?.volumes).toContain('dataset:/data');
  for (const role of ['questioner', 'answerer']) {
    expect(compose.services[role]?.volumes).toContain('datasets:/datasets:ro');
    expect(compose.services[role]?.environment).toMatchObject({ DG_DATASETS_DIR: '/datasets' });
  }
  expect(Object.keys(compose.volumes)).toEqual(expect.arrayContaining(['dataset', 'datasets', 'clickhouse-data']));
});

it('runs the dashboard from the project image on 127.0.0.1:8088 with its token, and Grafana under a profile', () => {
  const services = compose.services as Record<string, Service & { profiles?: string[]; volumes?: string[] }>;
  expect(services.dashboard?.command).toEqual(['dashboard', '--host', '0.0.0.0', '--port', '8088']);
  expect(services.dashboard?.image).toBe(services.questioner?.image);
  expect(services.dashboard?.ports).toEqual(['127.0.0.1:8088:8088']);
  expect(services.dashboard?.environment?.DG_DASHBOARD_TOKEN).toBe('${DG_DASHBOARD_TOKEN:-}');
  expect(services.questioner?.environment).toMatchObject({ DG_METRICS_PORT: '9464' });
  expect(services.grafana?.profiles).toEqual(['grafana']);
  expect(services.prometheus?.profiles).toEqual(['grafana']);
  expect(services.grafana?.environment).toMatchObject({ GF_INSTALL_PLUGINS: 'grafana-clickhouse-datasource' });
  expect(services.grafana?.volumes).toEqual(
    expect.arrayContaining(['./grafana/provisioning:/etc/grafana/provisioning:ro', './grafana/dashboards:/var/lib/grafana/dashboards:ro']),
  );
});

it('runs every project container as a non-root user on a read-only root filesystem, writable only where it must be', () => {
  const hardened = compose as unknown as {
    services: Record<
      string,
      Service & { user?: string; read_only?: boolean; tmpfs?: string[]; cap_drop?: string[]; security_opt?: string[]; volumes?: string[] }
    >;
  };
  for (const name of [...ROLE_NAMES, 'migrate', 'sim-vlm']) {
    const service = hardened.services[name];
    expect({ name, user: service?.user, readOnly: service?.read_only }).toEqual({ name, user: '1000:1000', readOnly: true });
    expect(service?.user?.split(':')[0]).not.toBe('0');
    expect(service?.tmpfs).toContain('/tmp');
    expect(service?.cap_drop).toEqual(['ALL']);
    expect(service?.security_opt).toContain('no-new-privileges:true');
    expect(service?.volumes?.some((v) => /^datasets:\/datasets(:ro)?$/.test(v))).toBe(true);
  }
  expect(hardened.services.sink?.volumes).toContain('dataset:/data');
  const dockerfile = readFileSync(join(__dirname, '..', '..', 'Dockerfile'), 'utf8');
  expect(dockerfile).toMatch(/^USER node$/m);
  expect(dockerfile).toMatch(/chown -R node:node \/app \/data \/datasets/);
});

it('runs every role process with the V8 flags the bound bench measures them with, keeping the shared variables (issue 10)', () => {
  for (const role of ROLE_NAMES) {
    const env = compose.services[role]?.environment;
    expect({ role, flags: env?.NODE_OPTIONS?.split(/\s+/) }).toEqual({ role, flags: [...ROLE_NODE_FLAGS] });
    expect(env).toMatchObject({ KAFKA_BROKERS: 'kafka:19092', CLICKHOUSE_URL: 'http://clickhouse:8123', DG_METRICS_PORT: '9464' });
  }
  // Only the role processes: the simulator and the migrate job keep V8's defaults.
  expect(compose.services['sim-vlm']?.environment?.NODE_OPTIONS).toBeUndefined();
  expect(compose.services.migrate?.environment?.NODE_OPTIONS).toBeUndefined();
});

it('builds the image with the process environment the bound bench runs the roles with (issue 10)', () => {
  const dockerfile = readFileSync(join(__dirname, '..', '..', 'Dockerfile'), 'utf8');
  // The runtime stage: everything after the last FROM.
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  for (const [name, value] of Object.entries(ROLE_PROCESS_ENV)) expect(runtime).toMatch(new RegExp(`^ENV ${name}=${value}$`, 'm'));
});
