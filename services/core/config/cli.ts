import { ConfigError } from '../errors/errors';
import { configureLogging } from '../logging/logger';
import { ConfigOverrides, DgConfig, loadConfig } from './config';

export const CONFIG_ERROR_EXIT_CODE = 2;

/**
 * For CLI commands: parse config, apply its log settings, or print every problem and exit 2 before
 * anything connects. `exit` is injectable for tests.
 */
export function loadConfigOrExit(
  overrides: ConfigOverrides = {},
  io: { env?: NodeJS.ProcessEnv; stderr?: (text: string) => void; exit?: (code: number) => never } = {},
): DgConfig {
  try {
    const config = loadConfig(io.env ?? process.env, overrides);
    configureLogging({ level: config.log.level, format: config.log.format });
    return config;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    (io.stderr ?? ((text: string) => process.stderr.write(text)))(`dg: ${err.message}\n`);
    return (io.exit ?? ((code: number) => process.exit(code)))(CONFIG_ERROR_EXIT_CODE);
  }
}
