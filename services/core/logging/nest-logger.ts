import type { LoggerService, LogLevel as NestLogLevel } from '@nestjs/common';
import { createLogger, Logger, LogFields } from './logger';

/**
 * Routes Nest's own logs (bootstrap, module init, exceptions) into the structured pipeline.
 * Use with `NestFactory.createApplicationContext(Module, { logger: new NestLoggerAdapter() })`.
 * Nest passes the context (class name) as the last string argument, and a stack before it for errors.
 */
export class NestLoggerAdapter implements LoggerService {
  constructor(private readonly logger: Logger = createLogger('nest')) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params, true);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params, true);
  }

  /** Level comes from our config; Nest's own level list is ignored on purpose. */
  setLogLevels(_levels: NestLogLevel[]): void {}

  private write(level: 'trace' | 'debug' | 'info' | 'warn' | 'error', message: unknown, params: unknown[], mayHaveStack = false): void {
    const rest = [...params];
    const fields: LogFields = {};
    if (rest.length > 0 && typeof rest[rest.length - 1] === 'string') fields.context = rest.pop();
    if (mayHaveStack && rest.length > 0 && typeof rest[rest.length - 1] === 'string') fields.stack = rest.pop();
    if (rest.length > 0) fields.params = rest;
    if (message instanceof Error) {
      fields.err = message;
      this.logger[level](message.message, fields);
    } else {
      this.logger[level](typeof message === 'string' ? message : JSON.stringify(message), fields);
    }
  }
}
