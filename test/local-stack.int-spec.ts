import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';

/**
 * `dg stack` against a second, isolated stack: its own folder and free ports, sharing the download
 * cache with the main stack (which may keep running meanwhile on the default ports).
 */

const repoRoot = path.resolve(__dirname, '..');
const cliMain = path.join(repoRoot, 'dist', 'services', 'cli', 'main.js');

/**
 * Brings dist/ up to date once, as bin/dg would on every call. Other files of the tree may fail to
 * type-check while they are being written (npm test type-checks separately); tsc still emits, and
 * this suite then runs the emitted CLI instead of failing on someone else's error.
 */
function buildCliOnce(): void {
  const { ensureBuilt } = require(path.join(repoRoot, 'scripts', 'ensure-built.js')) as { ensureBuilt(): void };
  try {
    ensureBuilt();
  } catch (err) {
    if (!fs.existsSync(cliMain)) throw err;
  }
}

interface DgRun {
  code: number;
  stdout: string;
  stderr: string;
}

interface StatusJson {
  stackDir: string;
  components: Array<{ name: string; address: string; pid: number | null; state: string }>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function isPortOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Alive means present in /proc and not a zombie. */
function isProcessAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

describe('dg stack (isolated second stack)', () => {
  let stackDir: string;
  let ports: { kafka: number; kafkaController: number; schemaRegistry: number; clickhouseHttp: number; clickhouseTcp: number };
  let env: NodeJS.ProcessEnv;
  /** The opt-in SSL listener (DG_STACK_KAFKA_SSL_PORT), on in this suite. */
  let sslPort: number;

  function dg(args: string[], timeoutMs = 150_000): Promise<DgRun> {
    return new Promise((resolve) => {
      // The CLI in a process of its own, like `dg`: components must outlive it.
      const script = `require(${JSON.stringify(cliMain)}).main(${JSON.stringify(['node', 'dg', ...args])}).catch((e) => { console.error(e); process.exit(1); })`;
      execFile(process.execPath, ['-e', script], { cwd: repoRoot, env, timeout: timeoutMs }, (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  }

  async function status(): Promise<{ code: number; json: StatusJson }> {
    const run = await dg(['stack', 'status', '--json'], 30_000);
    return { code: run.code, json: JSON.parse(run.stdout) as StatusJson };
  }

  beforeAll(async () => {
    buildCliOnce();
    stackDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dg-stack-test-'));
    ports = {
      kafka: await freePort(),
      kafkaController: await freePort(),
      schemaRegistry: await freePort(),
      clickhouseHttp: await freePort(),
      clickhouseTcp: await freePort(),
    };
    sslPort = await freePort();
    env = {
      ...process.env,
      DG_STACK_DIR: stackDir,
      KAFKA_PORT: String(ports.kafka),
      KAFKA_CONTROLLER_PORT: String(ports.kafkaController),
      SCHEMA_REGISTRY_PORT: String(ports.schemaRegistry),
      CLICKHOUSE_HTTP_PORT: String(ports.clickhouseHttp),
      CLICKHOUSE_TCP_PORT: String(ports.clickhouseTcp),
      DG_STACK_KAFKA_SSL_PORT: String(sslPort),
    };
  });

  afterAll(async () => {
    // Whatever a failed test left behind: stop it and delete the folder.
    if (env) await dg(['stack', 'down', '--purge'], 90_000);
    if (stackDir) fs.rmSync(stackDir, { recursive: true, force: true });
  }, 120_000);

  it('refuses to start a component whose port a foreign process holds, naming the port', async () => {
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(ports.kafka, '127.0.0.1', resolve));
    try {
      const run = await dg(['stack', 'up']);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain(`port ${ports.kafka}`);
      expect(run.stderr).toContain('kafka');
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  }, 180_000);

  it('up starts what is missing and waits until every component answers', async () => {
    const run = await dg(['stack', 'up']);
    expect(run.stderr).not.toContain('dg stack:');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('kafka: ready');
  }, 180_000);

  it('up opens the opt-in TLS listener with a certificate for 127.0.0.1 signed by the CA it names', async () => {
    const caFile = path.join(stackDir, 'kafka', 'tls', 'ca.pem');
    expect((await dg(['stack', 'env'], 30_000)).stdout).toContain(`KAFKA_BROKERS=127.0.0.1:${sslPort} KAFKA_SSL=true KAFKA_SSL_CA_FILE=${caFile}`);
    const authorized = await new Promise<boolean | Error>((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port: sslPort, ca: fs.readFileSync(caFile) }, () => {
        resolve(socket.authorized);
        socket.destroy();
      });
      socket.once('error', resolve);
    });
    expect(authorized).toBe(true);
  }, 60_000);

  it('status lists every component up with its address and pid', async () => {
    const { code, json } = await status();
    expect(code).toBe(0);
    expect(json.stackDir).toBe(stackDir);
    const byName = Object.fromEntries(json.components.map((c) => [c.name, c]));
    expect(byName.kafka).toMatchObject({ state: 'up', address: `127.0.0.1:${ports.kafka}` });
    expect(byName['schema-registry']).toMatchObject({ state: 'up', address: `http://127.0.0.1:${ports.schemaRegistry}/apis/ccompat/v7` });
    expect(byName.clickhouse).toMatchObject({ state: 'up', address: `http://127.0.0.1:${ports.clickhouseHttp}` });
    for (const c of json.components) expect(c.pid).toEqual(expect.any(Number));
  }, 60_000);

  it('a second up is a quick no-op that keeps the same processes', async () => {
    const before = (await status()).json.components.map((c) => c.pid);
    const run = await dg(['stack', 'up']);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain('started pid');
    expect((await status()).json.components.map((c) => c.pid)).toEqual(before);
    // Timed by dg itself, so a rebuild of dist/ triggered by bin/dg does not count: probes only.
    const upSeconds = Number(/already up in ([\d.]+)s/.exec(run.stdout)?.[1]);
    expect(upSeconds).toBeLessThan(5);
  }, 60_000);

  const probeSubject = 'dg-stack-test-value';
  const probeSchema = JSON.stringify({ type: 'record', name: 'StackProbe', fields: [{ name: 'id', type: 'string' }] });
  const registryUrl = () => `http://127.0.0.1:${ports.schemaRegistry}/apis/ccompat/v7`;

  it('the registry takes a schema through its Confluent-compatible API', async () => {
    const response = await fetch(`${registryUrl()}/subjects/${probeSubject}/versions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ schema: probeSchema }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ id: expect.any(Number) });
  }, 30_000);

  it('down stops exactly the recorded processes and frees every port', async () => {
    const pids = (await status()).json.components.map((c) => c.pid as number);
    const run = await dg(['stack', 'down'], 90_000);
    expect(run.code).toBe(0);
    for (const pid of pids) expect(isProcessAlive(pid)).toBe(false);
    for (const port of Object.values(ports)) expect(await isPortOpen(port)).toBe(false);
    const after = await status();
    expect(after.code).not.toBe(0);
    expect(after.json.components.map((c) => c.state)).toEqual(['down', 'down', 'down']);
    // Data survives `down`: the formatted Kafka storage is still there for the next `up`.
    expect(fs.existsSync(path.join(stackDir, 'kafka', 'data', 'meta.properties'))).toBe(true);
  }, 120_000);

  it('up fails with the log tail of a component that dies on start', async () => {
    // Kafka refuses storage formatted for another node id: a deterministic start-up crash.
    const metaFile = path.join(stackDir, 'kafka', 'data', 'meta.properties');
    fs.writeFileSync(metaFile, fs.readFileSync(metaFile, 'utf8').replace(/^node\.id=1$/m, 'node.id=7'));
    const run = await dg(['stack', 'up']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('kafka: process');
    expect(run.stderr).toContain('exited before it answered');
    expect(run.stderr).toMatch(/--- last lines of .*kafka/);
    expect(run.stderr).toMatch(/node\.id|node id/i);
  }, 180_000);

  it('registry subjects survive down and up, matching the Kafka data that survives', async () => {
    // The failed `up` above still started the registry.
    const subjects = (await (await fetch(`${registryUrl()}/subjects`)).json()) as string[];
    expect(subjects).toContain(probeSubject);
  }, 30_000);
});
