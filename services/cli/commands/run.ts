import type { Command } from 'commander';
import { loadConfigOrExit } from '../../core/config';
import { createLogger, redactConfig } from '../../core/logging';
import { isRoleName, ROLE_NAMES, type RoleName } from '../../core/bus';
import { startRoles } from '../../role-runtime/role-app';
import { waitForStopSignal } from '../signals';

/** `dg run [role...]`: run role services in the foreground until SIGINT/SIGTERM, then drain and exit. */
export function register(program: Command): void {
  program
    .command('run')
    .description(`run role services in the foreground (all when none named): ${ROLE_NAMES.join(', ')}`)
    .argument('[roles...]', 'roles to run')
    .action(async (names: string[]) => {
      const unknown = names.filter((n) => !isRoleName(n));
      if (unknown.length > 0) {
        process.stderr.write(`dg run: unknown role ${unknown.map((n) => JSON.stringify(n)).join(', ')}; expected one of ${ROLE_NAMES.join(', ')}\n`);
        process.exitCode = 2;
        return;
      }
      const roles: RoleName[] = names.length > 0 ? [...new Set(names as RoleName[])] : [...ROLE_NAMES];
      const config = loadConfigOrExit();
      const log = createLogger('dg.run');
      log.debug('effective config (secrets redacted)', { config: redactConfig(config) });
      const app = await startRoles(config, roles);
      log.info('roles running', { roles, topicPrefix: config.topics.prefix, brokers: config.kafka.brokers.join(',') });
      const signal = await waitForStopSignal();
      log.info('stopping: draining in-flight messages', { signal });
      await app.close();
      log.info('stopped');
    });
}
