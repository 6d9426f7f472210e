import { describeError, DgError } from '../errors/errors';
import { isSecretKey, REDACTED, redactText, redactValue } from './redact';

/**
 * One structured log pipeline: JSON lines on stderr by default (`pretty` for humans), namespaced
 * loggers, and child loggers that bind game id / topic / partition / offset into every line.
 * Settings are process-wide and set once at boot from config (configureLogging), so loggers can be
 * created at module load.
 */

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = 'json' | 'pretty';
type EmitLevel = Exclude<LogLevel, 'silent'>;

const SEVERITY: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, silent: 100 };

export type LogFields = Record<string, unknown>;

/** Common bindings; any other key is allowed too. */
export interface LogBindings extends LogFields {
  gameId?: string;
  topic?: string;
  partition?: number;
  offset?: string;
}

export interface Logger {
  readonly namespace: string;
  trace(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(bindings: LogBindings): Logger;
  isLevelEnabled(level: LogLevel): boolean;
}

export interface LoggingSettings {
  level: LogLevel;
  format: LogFormat;
  /** Receives one complete line (with trailing newline). Default: process.stderr. */
  write: (line: string) => void;
  now: () => Date;
}

const defaultSettings = (): LoggingSettings => ({
  level: 'info',
  format: 'json',
  write: (line) => process.stderr.write(line),
  now: () => new Date(),
});

let settings: LoggingSettings = defaultSettings();

/** Sets level/format/destination for every logger, existing and future. */
export function configureLogging(update: Partial<LoggingSettings>): void {
  settings = { ...settings, ...update };
}

/** Back to defaults (tests). */
export function resetLogging(): void {
  settings = defaultSettings();
}

export function createLogger(namespace: string, bindings: LogBindings = {}): Logger {
  return new StructuredLogger(namespace, bindings);
}

class StructuredLogger implements Logger {
  constructor(
    readonly namespace: string,
    private readonly bindings: LogBindings,
  ) {}

  trace(message: string, fields?: LogFields): void {
    this.emit('trace', message, fields);
  }
  debug(message: string, fields?: LogFields): void {
    this.emit('debug', message, fields);
  }
  info(message: string, fields?: LogFields): void {
    this.emit('info', message, fields);
  }
  warn(message: string, fields?: LogFields): void {
    this.emit('warn', message, fields);
  }
  error(message: string, fields?: LogFields): void {
    this.emit('error', message, fields);
  }

  child(bindings: LogBindings): Logger {
    return new StructuredLogger(this.namespace, { ...this.bindings, ...bindings });
  }

  isLevelEnabled(level: LogLevel): boolean {
    return level !== 'silent' && SEVERITY[level] >= SEVERITY[settings.level];
  }

  private emit(level: EmitLevel, message: string, fields: LogFields | undefined): void {
    if (!this.isLevelEnabled(level)) return;
    const record: LogFields = { ...this.bindings, ...serializeFields(fields) };
    const time = settings.now();
    const line =
      settings.format === 'pretty' ? formatPretty(time, level, this.namespace, message, record) : formatJson(time, level, this.namespace, message, record);
    settings.write(redactText(line));
  }
}

function serializeFields(fields: LogFields | undefined): LogFields {
  if (!fields) return {};
  const out: LogFields = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    out[key] = isSecretKey(key) && typeof value === 'string' && value !== '' ? REDACTED : value instanceof Error ? serializeError(value) : redactValue(value);
  }
  return out;
}

function serializeError(err: Error): LogFields {
  const described: LogFields = { ...describeError(err) };
  if (err instanceof DgError) described.retriable = err.retriable;
  if (err.cause !== undefined) described.cause = err.cause instanceof Error ? serializeError(err.cause) : String(err.cause);
  return described;
}

function formatJson(time: Date, level: EmitLevel, namespace: string, message: string, record: LogFields): string {
  return JSON.stringify({ time: time.toISOString(), level, ns: namespace, msg: message, ...record }, jsonReplacer) + '\n';
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (Buffer.isBuffer(value)) return `<${value.length} bytes>`;
  if (value && typeof value === 'object' && (value as { type?: unknown }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data)) {
    return `<${(value as { data: unknown[] }).data.length} bytes>`;
  }
  return value;
}

function formatPretty(time: Date, level: EmitLevel, namespace: string, message: string, record: LogFields): string {
  const stacks: string[] = [];
  const pairs = Object.entries(record).map(([key, value]) => {
    if (value && typeof value === 'object' && 'stack' in value && typeof (value as { stack: unknown }).stack === 'string') {
      const err = value as { name?: string; message?: string; stack: string };
      if (err.stack) stacks.push(err.stack);
      return `${key}=${err.name ?? 'Error'}: ${err.message ?? ''}`;
    }
    return `${key}=${typeof value === 'string' ? value : JSON.stringify(value, jsonReplacer)}`;
  });
  const clock = time.toISOString().slice(11, 23);
  const line = [clock, level.toUpperCase().padEnd(5), `[${namespace}]`, message, ...pairs].join(' ');
  return [line, ...stacks.map((s) => s.replace(/^/gm, '    '))].join('\n') + '\n';
}
