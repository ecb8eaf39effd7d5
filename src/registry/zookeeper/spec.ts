import type { AddProblem, JsonSchema, RegistryKindSpec, SchemaBuilder } from '../kind.js';

export const ZOOKEEPER_REGISTRY_KIND = 'zookeeper';

/** Which Dubbo registration levels are imported (docs/mapping.md "ZooKeeper"). */
export const DubboLevels = {
  INTERFACE: 'interface',
  APPLICATION: 'application',
  BOTH: 'both',
} as const;
export type ZookeeperDubboLevels = (typeof DubboLevels)[keyof typeof DubboLevels];

/** Settings of a `zookeeper` registry (docs/configuration.md "zookeeper"). */
export interface ZookeeperSourceConfig {
  /** `host:port[,host:port...]` plus the chroot, if any: what the client dials. */
  readonly connectString: string;
  readonly sessionTimeoutMs: number;
  readonly auth: { readonly scheme: 'digest'; readonly username: string; readonly password: string } | undefined;
  readonly dubbo: { readonly levels: ZookeeperDubboLevels; readonly root: string; readonly servicesPath: string };
  readonly curator: { readonly basePath: string; readonly protocol: string } | undefined;
  readonly maxConcurrentReads: number;
}

interface RawZookeeperBlock {
  readonly servers: string | readonly string[];
  readonly chroot?: string;
  readonly sessionTimeoutMs?: number;
  readonly auth?: { readonly scheme?: 'digest'; readonly username: string; readonly password: string };
  readonly dubbo?: { readonly levels?: ZookeeperDubboLevels; readonly root?: string; readonly servicesPath?: string };
  readonly curator?: { readonly basePath: string; readonly protocol?: string };
  readonly maxConcurrentReads?: number;
}

export const ZookeeperDefaults = {
  sessionTimeoutMs: 30_000,
  levels: 'interface',
  root: '/dubbo',
  servicesPath: '/services',
  curatorProtocol: 'http',
  maxConcurrentReads: 64,
} as const;

/** An absolute ZooKeeper path: `/` or `/a/b` (no trailing slash, no empty, `.` or `..` segments). */
const ZK_PATH = '^/$|^(/[^/\\u0000]+)+$';
const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/;

function serverList(servers: string | readonly string[]): string[] {
  return (typeof servers === 'string' ? servers.split(',') : [...servers]).map((s) => s.trim()).filter((s) => s.length > 0);
}

function pathProblem(p: string): string | undefined {
  if (!new RegExp(ZK_PATH).test(p)) return 'must be an absolute path like /dubbo (no trailing slash)';
  if (p.split('/').some((seg) => seg === '.' || seg === '..')) return 'must not contain "." or ".." segments';
  return undefined;
}

export const zookeeperKind: RegistryKindSpec<ZookeeperSourceConfig> = {
  kind: 'zookeeper',
  description: 'Apache ZooKeeper: Dubbo interface- and application-level discovery, optionally Curator service discovery, watched',
  reportsConsumers: true,
  schema(s: SchemaBuilder): JsonSchema {
    const path = (d: string, dflt?: string): JsonSchema => s.str(d, { pattern: ZK_PATH, ...(dflt !== undefined ? { default: dflt } : {}) });
    return s.object(
      'Settings of a `zookeeper` registry: Dubbo providers registered in ZooKeeper (docs/mapping.md, "ZooKeeper").',
      {
        servers: {
          description: 'The ensemble: a connect string "host:port,host:port" or a list of "host:port". A chroot may follow the last server ("zk1:2181/prod") or go in `chroot`.',
          anyOf: [s.str('Connect string.', { minLength: 1 }), { type: 'array', minItems: 1, items: s.str('host:port', { minLength: 1 }) }],
        },
        chroot: path('Chroot path the client works under (ZooKeeper resolves every path below it), e.g. /prod. Default: none.'),
        sessionTimeoutMs: s.int('Requested session timeout; the server clamps it to 2-20 tickTimes. Ephemeral provider nodes are not ours: this only decides how long our watches survive a connection loss.', {
          minimum: 1000,
          default: ZookeeperDefaults.sessionTimeoutMs,
        }),
        auth: s.object(
          'Credentials sent on every (re)connect; use ${ENV:...} for both values.',
          {
            scheme: s.str('Authentication scheme.', { enum: ['digest'], default: 'digest' }),
            username: s.str('Digest user name.', { minLength: 1 }),
            password: s.str('Digest password.', { minLength: 1 }),
          },
          ['username', 'password'],
        ),
        dubbo: s.object('Which Dubbo registrations become services.', {
          levels: s.str('interface: /dubbo/<interface>/providers (one service per interface, group and version); application: Dubbo 3 /services/<app> (one service per application); both.', {
            enum: ['interface', 'application', 'both'],
            default: ZookeeperDefaults.levels,
          }),
          root: path("Interface-level root (Dubbo's registry `group`, default /dubbo).", ZookeeperDefaults.root),
          servicesPath: path('Application-level root (Curator ServiceDiscovery base path Dubbo 3 uses).', ZookeeperDefaults.servicesPath),
        }),
        curator: s.object(
          'Plain Curator service discovery (Spring Cloud Zookeeper, Curator x-discovery): one service per name under basePath. Default: off.',
          {
            basePath: path('Base path of the Curator ServiceDiscovery (Spring Cloud Zookeeper: /services).'),
            protocol: s.str('Dubbo-style protocol name of `port` (sslPort is https): http, grpc, tcp, ...', {
              pattern: '^[a-z][a-z0-9+.-]*$',
              default: ZookeeperDefaults.curatorProtocol,
            }),
          },
          ['basePath'],
        ),
        maxConcurrentReads: s.int('Reads in flight at once during a listing (bounded so 10,000 providers sync without flooding the server).', {
          minimum: 1,
          maximum: 1024,
          default: ZookeeperDefaults.maxConcurrentReads,
        }),
      },
      ['servers'],
    );
  },
  check(block: unknown, add: AddProblem): void {
    const b = block as RawZookeeperBlock; // schema-validated
    const list = serverList(b.servers);
    if (list.length === 0) add(['servers'], 'must name at least one host:port');
    list.forEach((server, i) => {
      // A chroot may follow the last server of a connect string.
      const text = typeof b.servers === 'string' && i === list.length - 1 ? server.replace(/\/.*$/, '') : server;
      const m = HOST_PORT.exec(text);
      const port = Number(m?.[2]);
      if (m === null || !(port >= 1 && port <= 65535)) {
        add(typeof b.servers === 'string' ? ['servers'] : ['servers', i], `"${server}" is not host:port with a port 1-65535`);
      }
    });
    const inline = typeof b.servers === 'string' && b.servers.includes('/');
    if (inline && b.chroot !== undefined) add(['chroot'], 'the connect string already names a chroot; set it in one place');
    if (inline) {
      const p = b.servers.toString().slice(b.servers.toString().indexOf('/'));
      const m = pathProblem(p);
      if (m !== undefined) add(['servers'], `chroot ${m}`);
    }
    for (const [at, p] of [
      [['chroot'], b.chroot],
      [['dubbo', 'root'], b.dubbo?.root],
      [['dubbo', 'servicesPath'], b.dubbo?.servicesPath],
      [['curator', 'basePath'], b.curator?.basePath],
    ] as const) {
      if (p === undefined) continue;
      const m = pathProblem(p);
      if (m !== undefined) add(at, m);
    }
    const levels = b.dubbo?.levels ?? ZookeeperDefaults.levels;
    const servicesPath = b.dubbo?.servicesPath ?? ZookeeperDefaults.servicesPath;
    if (b.curator !== undefined && levels !== 'interface' && b.curator.basePath === servicesPath) {
      add(['curator', 'basePath'], `is also dubbo.servicesPath (${servicesPath}), which dubbo.levels "${levels}" reads as Dubbo applications; use one or the other`);
    }
  },
  resolve(block: unknown): ZookeeperSourceConfig {
    const b = block as RawZookeeperBlock; // schema-validated and checked
    const servers = serverList(b.servers).join(',');
    return {
      connectString: b.chroot !== undefined && b.chroot !== '/' ? `${servers}${b.chroot}` : servers,
      sessionTimeoutMs: b.sessionTimeoutMs ?? ZookeeperDefaults.sessionTimeoutMs,
      auth: b.auth === undefined ? undefined : { scheme: 'digest', username: b.auth.username, password: b.auth.password },
      dubbo: {
        levels: b.dubbo?.levels ?? ZookeeperDefaults.levels,
        root: b.dubbo?.root ?? ZookeeperDefaults.root,
        servicesPath: b.dubbo?.servicesPath ?? ZookeeperDefaults.servicesPath,
      },
      curator: b.curator === undefined ? undefined : { basePath: b.curator.basePath, protocol: b.curator.protocol ?? ZookeeperDefaults.curatorProtocol },
      maxConcurrentReads: b.maxConcurrentReads ?? ZookeeperDefaults.maxConcurrentReads,
    };
  },
  async load() {
    const { ZookeeperRegistry } = await import('./zookeeper-registry.js');
    return { create: (settings, common) => new ZookeeperRegistry({ ...settings, ...common }) };
  },
};
