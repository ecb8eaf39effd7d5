import type { ServerResponse } from 'node:http';
import { redactSecrets } from './redact.js';
import { ErrorCode, MeshbridgeError, describeError } from '../errors/index.js';

/** Helpers of the admin server: address parsing, JSON encoding, response writing. */

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * Parses `host:port`, `[v6]:port` or `:port` (all interfaces). Port 0 asks the OS for a free
 * port. Throws MeshbridgeError ADMIN_LISTEN on anything else.
 */
export function parseListenAddress(address: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(address.trim());
  const port = m?.[3] !== undefined ? Number(m[3]) : NaN;
  if (m === null || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new MeshbridgeError(ErrorCode.ADMIN_LISTEN, `admin address "${address}" is not host:port`, { path: 'admin.address' });
  }
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? '0.0.0.0' : host, port };
}

/**
 * JSON for /debug pages: Maps become objects, Sets arrays, bigints strings, Errors their coded
 * form. Throws on cycles (the caller turns that into a 500).
 */
export function debugJson(value: unknown, pretty: boolean): string {
  const text = JSON.stringify(value, replacer, pretty ? 2 : undefined);
  return text === undefined ? 'null' : text;
}

function replacer(this: unknown, _key: string, value: unknown): unknown {
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of value as Map<unknown, unknown>) out[String(k)] = v;
    return out;
  }
  if (value instanceof Set) return [...(value as Set<unknown>)];
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof MeshbridgeError) return value.toJSON();
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

/** The JSON body of an error response: `{"error": {"code", "message"}}`. */
export function errorBody(e: unknown): { error: Record<string, unknown> } {
  if (e instanceof MeshbridgeError) return { error: e.toJSON() };
  return { error: { code: ErrorCode.INTERNAL, message: describeError(e) } };
}

export interface Reply {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export const ContentType = {
  TEXT: 'text/plain; charset=utf-8',
  JSON: 'application/json; charset=utf-8',
  HTML: 'text/html; charset=utf-8',
  JS: 'text/javascript; charset=utf-8',
  CSS: 'text/css; charset=utf-8',
} as const;

export function text(status: number, body: string, headers?: Readonly<Record<string, string>>): Reply {
  return headers === undefined ? { status, contentType: ContentType.TEXT, body } : { status, contentType: ContentType.TEXT, body, headers };
}

export function json(status: number, value: unknown, pretty = true): Reply {
  return { status, contentType: ContentType.JSON, body: `${debugJson(value, pretty)}\n` };
}

/** Writes a reply; for HEAD only the headers (Content-Length is that of the GET body). */
export function send(res: ServerResponse, reply: Reply, head: boolean): void {
  // Pages show registry errors, which may quote what a server echoed: secrets redacted (redact.ts).
  const body = Buffer.from(redactSecrets(reply.body), 'utf8');
  res.statusCode = reply.status;
  res.setHeader('Content-Type', reply.contentType);
  res.setHeader('Content-Length', body.length);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  for (const [k, v] of Object.entries(reply.headers ?? {})) res.setHeader(k, v);
  if (head) res.end();
  else res.end(body);
}
