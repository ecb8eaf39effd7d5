import { format } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../observability/index.js';

/**
 * Routes grpc-js's own log lines (by default bare `E ...` lines on stderr, without a code) into
 * `logger` at debug level. Nothing is lost for the user: every failure that matters reaches them
 * as a coded error (MB_XDS_LISTEN, MB_XDS_*), and debug logging still shows grpc-js's view.
 */
export function routeGrpcLogs(logger: Logger): void {
  const log = logger.child({ component: 'grpc-js' });
  const line = (...args: unknown[]): void => log.debug(format(...args));
  grpc.setLogger({ error: line, info: line, debug: line });
}
