export * from './logger';
export * from './nest-logger';
export { clearRegisteredSecrets, redactConfig, redactText, redactValue, registerSecrets, REDACTED } from './redact';
