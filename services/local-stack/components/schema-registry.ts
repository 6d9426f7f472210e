import * as fs from 'node:fs';
import * as path from 'node:path';
import type { StackComponent } from '../component';
import { ensureJavaAndMaven, extractTarGz, installDirectoryOnce, mavenCopyArtifact } from '../installers';
import { httpAnswers } from '../probes';
import { APICURIO_VERSION, type StackSettings } from '../settings';
import { SMALL_JVM_FLAGS } from './kafka';

/**
 * Apicurio Registry 2.6 (runs on Java 17); clients use its Confluent-compatible API under
 * /apis/ccompat/v7. Its H2 database is a file under the stack folder rather than the default
 * in-memory one: Kafka's data survives `down`, so the schema ids inside those messages must too.
 */
export function schemaRegistryComponent(settings: StackSettings): StackComponent {
  const port = settings.ports.schemaRegistry;
  const homeDir = path.join(settings.stackDir, 'schema-registry');
  const installDir = path.join(settings.cacheDir, `apicurio-registry-app-${APICURIO_VERSION}`);
  const runnerJar = path.join(installDir, `apicurio-registry-app-${APICURIO_VERSION}-runner.jar`);
  const logsDir = path.join(homeDir, 'logs');
  const dataDir = path.join(homeDir, 'data');
  const baseUrl = `http://127.0.0.1:${port}`;
  const address = `${baseUrl}/apis/ccompat/v7`;

  return {
    name: 'schema-registry',
    address,
    ports: [port],
    homeDir,
    logFiles: [path.join(logsDir, 'schema-registry.out')],
    async install(log) {
      if (fs.existsSync(runnerJar)) return;
      await ensureJavaAndMaven(settings.javaHome, log);
      const installed = await installDirectoryOnce(installDir, async (scratch) => {
        log(`schema-registry: downloading Apicurio Registry ${APICURIO_VERSION} with Maven`);
        await mavenCopyArtifact(scratch, `io.apicurio:apicurio-registry-app:${APICURIO_VERSION}:tar.gz:all`, scratch);
        const archive = path.join(scratch, `apicurio-registry-app-${APICURIO_VERSION}-all.tar.gz`);
        await extractTarGz(archive, scratch);
        fs.rmSync(archive);
      });
      if (installed) log(`schema-registry: installed into ${installDir}`);
    },
    async prepareLaunch() {
      fs.mkdirSync(logsDir, { recursive: true });
      fs.mkdirSync(dataDir, { recursive: true });
      return {
        command: path.join(settings.javaHome, 'bin', 'java'),
        args: [
          ...SMALL_JVM_FLAGS,
          '-Dquarkus.http.host=127.0.0.1',
          `-Dquarkus.http.port=${port}`,
          // The bundle's datasource URL defaults to jdbc:h2:mem through this property.
          `-DREGISTRY_DATASOURCE_URL=jdbc:h2:file:${path.join(dataDir, 'registry_db')}`,
          // Kept on loopback should a later build turn the management interface on.
          '-Dquarkus.management.host=127.0.0.1',
          '-Dquarkus.log.console.color=false',
          '-jar',
          runnerJar,
        ],
        cwd: homeDir,
        outFile: path.join(logsDir, 'schema-registry.out'),
      };
    },
    isReady: () => httpAnswers(`${address}/subjects`, (body) => body.trimStart().startsWith('[')),
  };
}
