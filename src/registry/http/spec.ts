import { resolve } from 'node:path';
import { parsePointer } from './pointer.js';
import type { AddProblem, JsonSchema, RegistryKindSpec, SchemaBuilder } from '../kind.js';
import { resolveClientTls, type ClientTls } from '../shared/pem-files.js';

/** How the catalogue is followed (docs/configuration.md, "http"). */
export const HttpMode = {
  /** Server-sent events when the URL offers them, else long poll (which falls back to polling). */
  AUTO: 'auto',
  /** Conditional GET (If-None-Match) every intervalMs; a 304 costs no parsing. */
  POLL: 'poll',
  /** Conditional GET with `Prefer: wait=<waitSeconds>`: the server answers when something changed. */
  LONG_POLL: 'longPoll',
  /** Server-sent events: each `message` carries the catalogue, a `changed` event asks for a re-read. */
  SSE: 'sse',
} as const;
export type HttpMode = (typeof HttpMode)[keyof typeof HttpMode];

/** Defaults of the `http:` block (the only place they are stated). */
export const HttpDefaults = {
  mode: HttpMode.AUTO,
  intervalMs: 5000,
  waitSeconds: 30,
  timeoutMs: 10_000,
  map: { items: '', name: '/name', address: '/address', port: '/port' },
} as const;

/** JSON pointers (RFC 6901) from the answer to the fields of the neutral model (docs/mapping.md, "http"). */
export interface HttpMapping {
  /** The list (or mapping: the key is the name) of entries in the document. */
  readonly items: string;
  /** Below an entry: the service name. */
  readonly name: string;
  /** Below an entry: its instances (nested). Undefined: every entry is one instance (flat), grouped by name. */
  readonly instances: string | undefined;
  /** Below an instance (the entry when flat): the rest are optional. */
  readonly address: string;
  readonly port: string;
  /** A mapping port name -> number; wins over `port`. */
  readonly ports: string | undefined;
  readonly protocol: string | undefined;
  /** A mapping of scalars: the endpoint's labels. */
  readonly metadata: string | undefined;
  readonly healthy: string | undefined;
  readonly weight: string | undefined;
  readonly id: string | undefined;
}

/** Settings of an `http` registry (docs/configuration.md, "http"). */
export interface HttpSourceConfig {
  readonly url: string;
  readonly mode: HttpMode;
  /** poll: between requests; longPoll: when the server does not hold requests; sse: between safety re-reads. */
  readonly intervalMs: number;
  readonly waitSeconds: number;
  readonly timeoutMs: number;
  /** sse: the stream; undefined: `url` itself (asked with Accept: text/event-stream). */
  readonly eventsUrl: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly bearerToken: string | undefined;
  /** Absolute path. */
  readonly bearerTokenFile: string | undefined;
  /** Absolute paths; undefined: plaintext, or the system CAs for https://. */
  readonly tls: HttpTls | undefined;
  readonly map: HttpMapping;
}

export type HttpTls = ClientTls;

type RawHttpBlock = Partial<Omit<HttpSourceConfig, 'map' | 'url'>> & { readonly url: string; readonly map?: Partial<HttpMapping> };

const POINTERS: readonly (keyof HttpMapping)[] = ['items', 'name', 'instances', 'address', 'port', 'ports', 'protocol', 'metadata', 'healthy', 'weight', 'id'];
/** Headers the adapter sets itself. */
const OWN_HEADERS: ReadonlySet<string> = new Set(['accept', 'if-none-match', 'prefer', 'host', 'content-length', 'connection']);

function mappingSchema(s: SchemaBuilder): JsonSchema {
  const p = (d: string): JsonSchema => s.str(`JSON pointer (RFC 6901): ${d}`, { pattern: '^(/.*)?$' });
  return s.object('Where the fields are in the answer, as JSON pointers (docs/mapping.md, "http").', {
    items: p('the list of entries in the document ("" = the document itself); a mapping works too, its keys are then the names. Default "".'),
    name: p('below an entry, the service name. Default /name; with a mapping of entries and no name, the key.'),
    instances: p('below an entry, the list of its instances (entries are services). Unset: every entry is one instance, grouped by name.'),
    address: p('below an instance, its IP address or DNS name. Default /address.'),
    port: p('below an instance, its port number (one port, named after its protocol). Default /port.'),
    ports: p('below an instance, a mapping of port name to number (wins over port).'),
    protocol: p('below an instance, the protocol of its port (HTTP, GRPC, TCP, ...).'),
    metadata: p('below an instance, a mapping of scalars: the endpoint labels.'),
    healthy: p('below an instance, true or false; unset: health unknown (published).'),
    weight: p('below an instance, a number >= 0.'),
    id: p('below an instance, its id (diagnostics only).'),
  });
}

export const httpKind: RegistryKindSpec<HttpSourceConfig> = {
  kind: 'http',
  description: 'a home-grown registry serving its catalogue as JSON over HTTP: ETag polling, long poll or server-sent events',
  schema(s: SchemaBuilder): JsonSchema {
    return s.object(
      'Settings of an `http` registry: a JSON catalogue at a URL, followed by conditional GETs, long polls or server-sent events, its fields found by JSON pointers (docs/configuration.md, "http").',
      {
        url: s.str('The catalogue: http:// or https:// URL answering GET with JSON.', { minLength: 1 }),
        mode: s.str('auto: server-sent events when the url offers them, else longPoll; poll: conditional GET (ETag) every intervalMs; longPoll: conditional GET with Prefer: wait=waitSeconds (a server that does not hold requests is polled); sse: server-sent events.', {
          enum: Object.values(HttpMode),
          default: HttpDefaults.mode,
        }),
        intervalMs: s.int('poll: delay between requests; longPoll: between requests when the server does not hold them; sse: between conditional re-reads while the stream is open. Errors back off from it (x2 each, at most 10x).', {
          minimum: 100,
          default: HttpDefaults.intervalMs,
        }),
        waitSeconds: s.int('longPoll: how long the server may hold a request (sent as Prefer: wait=N).', { minimum: 1, maximum: 600, default: HttpDefaults.waitSeconds }),
        timeoutMs: s.int('Deadline of one request (longPoll: on top of waitSeconds).', { minimum: 100, default: HttpDefaults.timeoutMs }),
        eventsUrl: s.str('sse: the event stream; default: url itself, asked with Accept: text/event-stream.', { minLength: 1 }),
        headers: {
          type: 'object',
          description: 'Extra request headers (e.g. an API key: X-Api-Key: ${ENV:REGISTRY_KEY}).',
          propertyNames: { pattern: '^[A-Za-z0-9!#$%&\'*+.^_`|~-]+$' },
          additionalProperties: s.str('Header value.'),
          default: {},
        },
        bearerToken: s.str('Sent as Authorization: Bearer. Keep it in the environment: ${ENV:REGISTRY_TOKEN}.', { minLength: 1 }),
        bearerTokenFile: s.str('File holding the bearer token (instead of bearerToken); read at start and again after an HTTP 401. Relative to this config file.', { minLength: 1 }),
        tls: s.object('TLS (https:// URL): the CA of the server and, when it verifies clients, a client certificate. Paths are relative to this config file.', {
          caFile: s.str('PEM CA bundle; default: the system CAs.', { minLength: 1 }),
          certFile: s.str('PEM client certificate (with keyFile).', { minLength: 1 }),
          keyFile: s.str('PEM client private key (with certFile).', { minLength: 1 }),
          serverName: s.str("Server name for SNI and the certificate check; default: the URL's host.", { minLength: 1 }),
          insecureSkipVerify: { type: 'boolean', description: 'Do not verify the server certificate (testing only).', default: false },
        }),
        map: mappingSchema(s),
      },
      ['url'],
    );
  },
  check(block: unknown, add: AddProblem): void {
    const b = block as RawHttpBlock; // schema-validated
    const scheme = urlScheme(b.url);
    if (scheme === undefined) add(['url'], 'is not an http:// or https:// URL');
    if (b.eventsUrl !== undefined && urlScheme(b.eventsUrl) === undefined) add(['eventsUrl'], 'is not an http:// or https:// URL');
    if (b.eventsUrl !== undefined && (b.mode ?? HttpDefaults.mode) !== HttpMode.SSE) add(['eventsUrl'], 'is used with mode: sse only (auto asks the url itself)');
    if (b.bearerToken !== undefined && b.bearerTokenFile !== undefined) add(['bearerTokenFile'], 'set either bearerToken or bearerTokenFile, not both');
    if (b.tls !== undefined && scheme === 'http:') add(['tls'], 'tls is set but the url uses http://: write https://');
    if (b.tls !== undefined && (b.tls.certFile === undefined) !== (b.tls.keyFile === undefined)) add(['tls'], 'certFile and keyFile go together');
    for (const h of Object.keys(b.headers ?? {})) {
      if (OWN_HEADERS.has(h.toLowerCase())) add(['headers', h], 'is set by Meshbridge itself');
      else if (h.toLowerCase() === 'authorization' && (b.bearerToken !== undefined || b.bearerTokenFile !== undefined)) add(['headers', h], 'conflicts with the bearer token');
    }
    for (const k of POINTERS) {
      const v = b.map?.[k];
      if (typeof v === 'string' && parsePointer(v) === undefined) add(['map', k], `"${v}" is not a JSON pointer (~ must be followed by 0 or 1)`);
    }
  },
  resolve(block: unknown, base: string): HttpSourceConfig {
    const b = block as RawHttpBlock; // schema-validated and checked
    const m = b.map ?? {};
    return {
      url: b.url,
      mode: b.mode ?? HttpDefaults.mode,
      intervalMs: b.intervalMs ?? HttpDefaults.intervalMs,
      waitSeconds: b.waitSeconds ?? HttpDefaults.waitSeconds,
      timeoutMs: b.timeoutMs ?? HttpDefaults.timeoutMs,
      eventsUrl: b.eventsUrl,
      headers: { ...b.headers },
      bearerToken: b.bearerToken,
      bearerTokenFile: b.bearerTokenFile !== undefined ? resolve(base, b.bearerTokenFile) : undefined,
      tls: resolveClientTls(b.tls, base),
      map: {
        items: m.items ?? HttpDefaults.map.items,
        name: m.name ?? HttpDefaults.map.name,
        instances: m.instances,
        address: m.address ?? HttpDefaults.map.address,
        port: m.port ?? HttpDefaults.map.port,
        ports: m.ports,
        protocol: m.protocol,
        metadata: m.metadata,
        healthy: m.healthy,
        weight: m.weight,
        id: m.id,
      },
    };
  },
  async load() {
    const { HttpRegistry } = await import('./http-registry.js');
    return { create: (settings, common) => new HttpRegistry({ ...settings, ...common }) };
  },
};

function urlScheme(raw: string): 'http:' | 'https:' | undefined {
  try {
    const u = new URL(raw);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.protocol : undefined;
  } catch {
    return undefined;
  }
}
