import { resolve } from 'node:path';
import { buildLayout, DEFAULT_LAYOUT, LayoutError } from './layout.js';
import type { AddProblem, JsonSchema, RegistryKindSpec, SchemaBuilder } from '../kind.js';

/** Defaults of the `etcd` block (the schema's `default` annotations and resolution read these). */
export const EtcdDefaults = {
  prefix: '/meshbridge/services/',
  layout: DEFAULT_LAYOUT,
  requestTimeoutMs: 5000,
  keepaliveMs: 30_000,
} as const;

/** Settings of an `etcd` registry (docs/configuration.md, "etcd"). */
export interface EtcdSourceConfig {
  readonly endpoints: readonly string[];
  /** Ends with `/`. */
  readonly prefix: string;
  /** The template, unless `keyRegex` is set. */
  readonly layout: string;
  readonly keyRegex: string | undefined;
  /** Absolute paths; undefined: plaintext (or system CAs for https:// endpoints). */
  readonly tls: { readonly caFile: string; readonly certFile?: string; readonly keyFile?: string } | undefined;
  readonly auth: { readonly username: string; readonly password: string } | undefined;
  /** Deadline of each request: connecting, a listing page, opening the watch. */
  readonly requestTimeoutMs: number;
  readonly keepaliveMs: number;
}

interface RawEtcdBlock {
  readonly endpoints: readonly string[];
  readonly prefix?: string;
  readonly layout?: string;
  readonly keyRegex?: string;
  readonly tls?: { readonly caFile: string; readonly certFile?: string; readonly keyFile?: string };
  readonly auth?: { readonly username: string; readonly password: string };
  readonly requestTimeoutMs?: number;
  /** The former name of requestTimeoutMs (it bounds every request, not only the dial). */
  readonly dialTimeoutMs?: number;
  readonly keepaliveMs?: number;
}

/** `host:port`, `http://host:port` or `https://host:port` (IPv6 in brackets). */
const ENDPOINT = /^(?:(https?):\/\/)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})\/?$/;

export const etcdKind: RegistryKindSpec<EtcdSourceConfig> = {
  kind: 'etcd',
  description: 'instances as JSON values under an etcd v3 key prefix, watched by revision',
  schema(s: SchemaBuilder): JsonSchema {
    return s.object(
      'Settings of an `etcd` registry: one JSON instance per key below `prefix` (docs/configuration.md, "etcd").',
      {
        endpoints: {
          type: 'array',
          description: 'etcd client URLs: host:port, http://host:port or https://host:port (all plaintext or all TLS).',
          minItems: 1,
          items: s.str('One etcd client endpoint.', { minLength: 1 }),
        },
        prefix: s.str('Key prefix watched; a trailing "/" is added when missing.', { minLength: 1, default: EtcdDefaults.prefix }),
        layout: s.str(
          'Key layout below the prefix: "/"-separated segments, each literal text or one {placeholder}. {service} and {instance} are required, {namespace} is optional, other placeholders become service attributes.',
          { minLength: 1, default: EtcdDefaults.layout },
        ),
        keyRegex: s.str(
          'Instead of layout: a regular expression (anchored) over the key below the prefix, with named groups service, instance and optionally namespace; other groups become attributes.',
          { minLength: 1 },
        ),
        tls: s.object(
          'TLS to etcd: the CA that signed its serving certificate, and a client certificate when etcd requires one. Paths are relative to this config file.',
          {
            caFile: s.str('PEM CA bundle.', { minLength: 1 }),
            certFile: s.str('PEM client certificate (with keyFile).', { minLength: 1 }),
            keyFile: s.str('PEM client private key (with certFile).', { minLength: 1 }),
          },
          ['caFile'],
        ),
        auth: s.object(
          'etcd user/password authentication. Put the password in the environment: password: ${ENV:ETCD_PASSWORD}.',
          {
            username: s.str('etcd user.', { minLength: 1 }),
            password: s.str('Its password.', { minLength: 1 }),
          },
          ['username', 'password'],
        ),
        requestTimeoutMs: s.int('Deadline of each request: connecting, each listing page and opening the watch.', { minimum: 100, default: EtcdDefaults.requestTimeoutMs }),
        dialTimeoutMs: s.int('Deprecated name of requestTimeoutMs (still accepted).', { minimum: 100 }),
        keepaliveMs: s.int('HTTP/2 keepalive ping interval: a silently dead connection is found within about twice this.', {
          minimum: 5000,
          default: EtcdDefaults.keepaliveMs,
        }),
      },
      ['endpoints'],
    );
  },
  check(block: unknown, add: AddProblem): void {
    const b = block as RawEtcdBlock; // schema-validated
    const schemes = new Set<string>();
    b.endpoints.forEach((e, i) => {
      const m = ENDPOINT.exec(e);
      const port = Number(m?.[3] ?? 0);
      if (m === null || port < 1 || port > 65535) {
        add(['endpoints', i], `"${e}" is not host:port, http://host:port or https://host:port`);
        return;
      }
      if (m[1] !== undefined) schemes.add(m[1]); // host:port follows the others (TLS when `tls` is set)
    });
    if (schemes.size > 1) add(['endpoints'], 'endpoints mix http:// and https://: use one scheme for all');
    if (b.tls !== undefined && b.endpoints.some((e) => e.startsWith('http://'))) {
      add(['tls'], 'tls is set but endpoints use http://: write https:// (or host:port)');
    }
    if (b.tls !== undefined && (b.tls.certFile === undefined) !== (b.tls.keyFile === undefined)) {
      add(['tls'], 'certFile and keyFile go together');
    }
    if (b.layout !== undefined && b.keyRegex !== undefined) add(['keyRegex'], 'set either layout or keyRegex, not both');
    if (b.requestTimeoutMs !== undefined && b.dialTimeoutMs !== undefined) add(['dialTimeoutMs'], 'is the former name of requestTimeoutMs: set only requestTimeoutMs');
    try {
      buildLayout({ layout: b.layout, keyRegex: b.keyRegex });
    } catch (e) {
      if (!(e instanceof LayoutError)) throw e;
      add([b.keyRegex !== undefined ? 'keyRegex' : 'layout'], e.message);
    }
  },
  resolve(block: unknown, base: string): EtcdSourceConfig {
    const b = block as RawEtcdBlock; // schema-validated and checked
    const prefix = b.prefix ?? EtcdDefaults.prefix;
    return {
      endpoints: [...b.endpoints],
      prefix: prefix.endsWith('/') ? prefix : `${prefix}/`,
      layout: b.layout ?? EtcdDefaults.layout,
      keyRegex: b.keyRegex,
      tls:
        b.tls === undefined
          ? undefined
          : {
              caFile: resolve(base, b.tls.caFile),
              ...(b.tls.certFile !== undefined ? { certFile: resolve(base, b.tls.certFile) } : {}),
              ...(b.tls.keyFile !== undefined ? { keyFile: resolve(base, b.tls.keyFile) } : {}),
            },
      auth: b.auth === undefined ? undefined : { username: b.auth.username, password: b.auth.password },
      requestTimeoutMs: b.requestTimeoutMs ?? b.dialTimeoutMs ?? EtcdDefaults.requestTimeoutMs,
      keepaliveMs: b.keepaliveMs ?? EtcdDefaults.keepaliveMs,
    };
  },
  async load() {
    const { EtcdRegistry } = await import('./etcd-registry.js');
    return { create: (settings, common) => new EtcdRegistry({ ...settings, ...common }) };
  },
};
