export { Metrics } from './metrics.js';
export { createLogger, setLogLevel, silentLogger } from './logger.js';
export type { Logger, LoggerOptions } from './logger.js';
export { AdminServer } from './admin.js';
export { REDACTED, redactSecrets, registerBasicAuth, registerConfigSecrets, registerSecret } from './redact.js';
export type { AdminServerOptions, Readiness } from './admin.js';
