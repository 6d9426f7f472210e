import * as fs from 'node:fs';
import * as path from 'node:path';
import type { StackComponent } from '../component';
import { ensureAptPackages, findOnPath } from '../installers';
import { httpAnswers } from '../probes';
import type { StackSettings } from '../settings';

/** Debian's clickhouse-server (18.16) with a config of our own: loopback only, everything under the stack folder. */
export function clickhouseComponent(settings: StackSettings): StackComponent {
  const { clickhouseHttp: httpPort, clickhouseTcp: tcpPort } = settings.ports;
  const homeDir = path.join(settings.stackDir, 'clickhouse');
  const dataDir = path.join(homeDir, 'data');
  const logsDir = path.join(homeDir, 'logs');
  const configFile = path.join(homeDir, 'config.xml');
  const usersFile = path.join(homeDir, 'users.xml');
  const address = `http://127.0.0.1:${httpPort}`;
  const serverBinary = () => findOnPath('clickhouse-server') ?? ['/usr/bin/clickhouse-server', '/usr/sbin/clickhouse-server'].find((p) => fs.existsSync(p));

  const configXml = `<?xml version="1.0"?>
<!-- Written by dg stack up on every start; edit services/local-stack/components/clickhouse.ts instead. -->
<yandex>
  <logger>
    <level>information</level>
    <log>${path.join(logsDir, 'clickhouse-server.log')}</log>
    <errorlog>${path.join(logsDir, 'clickhouse-server.err.log')}</errorlog>
    <size>50M</size>
    <count>2</count>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <max_connections>1024</max_connections>
  <keep_alive_timeout>3</keep_alive_timeout>
  <max_concurrent_queries>100</max_concurrent_queries>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <mark_cache_size>268435456</mark_cache_size>
  <path>${dataDir}/</path>
  <tmp_path>${path.join(dataDir, 'tmp')}/</tmp_path>
  <user_files_path>${path.join(dataDir, 'user_files')}/</user_files_path>
  <format_schema_path>${path.join(dataDir, 'format_schemas')}/</format_schema_path>
  <users_config>${usersFile}</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
  <max_session_timeout>3600</max_session_timeout>
  <default_session_timeout>60</default_session_timeout>
</yandex>
`;

  // LowCardinality is experimental on 18.16 and must be allowed here: modern servers reject the setting in SQL.
  const usersXml = `<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>2000000000</max_memory_usage>
      <load_balancing>random</load_balancing>
      <allow_experimental_low_cardinality_type>1</allow_experimental_low_cardinality_type>
    </default>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas>
    <default>
      <interval>
        <duration>3600</duration>
        <queries>0</queries>
        <errors>0</errors>
        <result_rows>0</result_rows>
        <read_rows>0</read_rows>
        <execution_time>0</execution_time>
      </interval>
    </default>
  </quotas>
</yandex>
`;

  return {
    name: 'clickhouse',
    address,
    ports: [httpPort, tcpPort],
    homeDir,
    logFiles: [path.join(logsDir, 'clickhouse-server.err.log'), path.join(logsDir, 'clickhouse.out')],
    async install(log) {
      await ensureAptPackages(
        ['clickhouse-server', 'clickhouse-client'],
        () => serverBinary() !== undefined && findOnPath('clickhouse-client') !== undefined,
        log,
      );
    },
    async prepareLaunch() {
      fs.mkdirSync(path.join(dataDir, 'tmp'), { recursive: true });
      fs.mkdirSync(logsDir, { recursive: true });
      fs.writeFileSync(configFile, configXml);
      fs.writeFileSync(usersFile, usersXml);
      const binary = serverBinary();
      if (!binary) throw new Error('clickhouse-server is not installed');
      return {
        command: binary,
        args: [`--config-file=${configFile}`],
        cwd: homeDir,
        outFile: path.join(logsDir, 'clickhouse.out'),
      };
    },
    isReady: () => httpAnswers(`${address}/?query=SELECT%201`, (body) => body.trim() === '1'),
  };
}
