import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCommand } from '../installers';
import { StackError } from '../stack-error';
import type { StackSettings } from '../settings';

/**
 * TLS material of the local stack's opt-in SSL / SASL_SSL listeners, made once per stack folder with
 * the JDK's keytool (the stack's Java 17 brings it, so nothing else is installed): a CA, a broker key
 * pair signed by it for 127.0.0.1 / localhost, the broker's PKCS12 keystore and truststore, and the
 * CA certificate as PEM for clients (KAFKA_SSL=true KAFKA_SSL_CA_FILE=<caPem>). Local use only: the
 * keystore password is a random string kept in a file beside the keystores.
 */
export interface KafkaTlsMaterial {
  dir: string;
  /** The CA certificate clients trust (PEM). */
  caPem: string;
  keystore: string;
  truststore: string;
  /** Password of both PKCS12 stores (and of the broker key). */
  password: string;
}

const SUBJECT_ALT_NAMES = 'SAN=ip:127.0.0.1,dns:localhost';
/** keytool is a JVM too: start it as cheaply as the stack's other JVMs. */
const KEYTOOL_JVM_FLAGS = ['-J-XX:+UseSerialGC', '-J-XX:TieredStopAtLevel=1'];

/** Where a stack keeps its TLS material: <stackDir>/kafka/tls. */
export function kafkaTlsDir(settings: Pick<StackSettings, 'stackDir'>): string {
  return path.join(settings.stackDir, 'kafka', 'tls');
}

/** The CA certificate (PEM) clients of the stack's TLS listeners give as KAFKA_SSL_CA_FILE. */
export function kafkaTlsCaFile(settings: Pick<StackSettings, 'stackDir'>): string {
  return path.join(kafkaTlsDir(settings), 'ca.pem');
}

function materialIn(dir: string): KafkaTlsMaterial {
  return {
    dir,
    caPem: path.join(dir, 'ca.pem'),
    keystore: path.join(dir, 'broker-keystore.p12'),
    truststore: path.join(dir, 'truststore.p12'),
    password: fs.existsSync(path.join(dir, 'store.password')) ? fs.readFileSync(path.join(dir, 'store.password'), 'utf8').trim() : '',
  };
}

async function keytool(javaHome: string, args: string[], what: string): Promise<void> {
  const result = await runCommand(path.join(javaHome, 'bin', 'keytool'), [...KEYTOOL_JVM_FLAGS, ...args]);
  if (result.code !== 0) throw new StackError(`kafka TLS: keytool could not ${what}:\n${result.output.trimEnd()}`);
}

/**
 * Makes a self-signed CA in `dir` (ca.p12 with its key, ca.pem): the stack's CA, or in tests a CA
 * that signed nothing the broker has. Returns the PEM path.
 */
/**
 * `bytes` random bytes in base64url, redrawn while the text starts with '-' (1 draw in 64): the
 * Kafka and JDK tools it is passed to as an argument would read it as an option. Kafka's own
 * Uuid.randomUuid redraws for the same reason.
 */
export function commandLineSafeToken(bytes: number): string {
  let token: string;
  do token = randomBytes(bytes).toString('base64url');
  while (token.startsWith('-'));
  return token;
}

export async function makeCertificateAuthority(javaHome: string, dir: string, password: string, commonName = 'dg local stack CA'): Promise<string> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const store = path.join(dir, 'ca.p12');
  const pem = path.join(dir, 'ca.pem');
  const common = ['-storetype', 'PKCS12', '-storepass', password, '-keystore', store, '-alias', 'ca'];
  await keytool(
    javaHome,
    ['-genkeypair', ...common, '-keypass', password, '-keyalg', 'RSA', '-keysize', '2048', '-validity', '3650', '-dname', `CN=${commonName}`, '-ext', 'bc:c'],
    'make the CA',
  );
  await keytool(javaHome, ['-exportcert', ...common, '-rfc', '-file', pem], 'export the CA certificate');
  return pem;
}

/**
 * The stack's TLS material, made on first use (about 8 keytool runs, a few seconds) and reused
 * afterwards: it survives `down` like the broker's data, so a client's CA file stays valid.
 */
export async function ensureKafkaTlsMaterial(settings: Pick<StackSettings, 'stackDir' | 'javaHome'>, log: (line: string) => void): Promise<KafkaTlsMaterial> {
  const dir = kafkaTlsDir(settings);
  const existing = materialIn(dir);
  if (fs.existsSync(existing.keystore) && fs.existsSync(existing.truststore) && fs.existsSync(existing.caPem) && existing.password !== '') return existing;

  log('kafka: making a CA and a broker certificate for the TLS listeners (keytool)');
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const scratch = fs.mkdtempSync(`${dir}.tmp-`);
  try {
    const password = commandLineSafeToken(18);
    const made = { ...materialIn(scratch), password };
    const { javaHome } = settings;
    await makeCertificateAuthority(javaHome, scratch, password);
    const caStore = ['-storetype', 'PKCS12', '-storepass', password, '-keystore', path.join(scratch, 'ca.p12')];
    const brokerStore = ['-storetype', 'PKCS12', '-storepass', password, '-keystore', made.keystore];
    const csr = path.join(scratch, 'broker.csr');
    const signed = path.join(scratch, 'broker.pem');
    await keytool(
      javaHome,
      [
        '-genkeypair',
        ...brokerStore,
        '-alias',
        'broker',
        '-keypass',
        password,
        '-keyalg',
        'RSA',
        '-keysize',
        '2048',
        '-validity',
        '825',
        '-dname',
        'CN=localhost',
        '-ext',
        SUBJECT_ALT_NAMES,
      ],
      'make the broker key pair',
    );
    await keytool(javaHome, ['-certreq', ...brokerStore, '-alias', 'broker', '-file', csr], 'make the broker certificate request');
    await keytool(
      javaHome,
      [
        '-gencert',
        ...caStore,
        '-alias',
        'ca',
        '-infile',
        csr,
        '-outfile',
        signed,
        '-rfc',
        '-validity',
        '825',
        '-ext',
        SUBJECT_ALT_NAMES,
        '-ext',
        'KU=digitalSignature,keyEncipherment',
        '-ext',
        'EKU=serverAuth',
      ],
      'sign the broker certificate',
    );
    await keytool(javaHome, ['-importcert', ...brokerStore, '-alias', 'ca', '-file', made.caPem, '-noprompt'], 'put the CA into the broker keystore');
    await keytool(
      javaHome,
      ['-importcert', ...brokerStore, '-alias', 'broker', '-file', signed, '-noprompt'],
      'put the signed certificate into the broker keystore',
    );
    await keytool(
      javaHome,
      ['-importcert', '-storetype', 'PKCS12', '-storepass', password, '-keystore', made.truststore, '-alias', 'ca', '-file', made.caPem, '-noprompt'],
      'make the truststore',
    );
    fs.writeFileSync(path.join(scratch, 'store.password'), `${password}\n`, { mode: 0o600 });
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(scratch, dir);
  } catch (err) {
    fs.rmSync(scratch, { recursive: true, force: true });
    throw err;
  }
  return materialIn(dir);
}

/** server.properties lines of the SSL (and SASL_SSL) listeners; the listeners themselves are added by the caller. */
export function kafkaTlsProperties(material: KafkaTlsMaterial, withSaslSsl: boolean): string {
  return `ssl.keystore.type=PKCS12
ssl.keystore.location=${material.keystore}
ssl.keystore.password=${material.password}
ssl.key.password=${material.password}
ssl.truststore.type=PKCS12
ssl.truststore.location=${material.truststore}
ssl.truststore.password=${material.password}
ssl.client.auth=none
${
  withSaslSsl
    ? `listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
`
    : ''
}`;
}
