import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseDocument, type YAMLError } from 'yaml';
import { defaultHostTemplate, defaultSidecarOptions, type SidecarOptions } from '../convert/options.js';
import { EndpointScope, type SelectionRules } from '../convert/selection.js';
import { ErrorCode, MeshbridgeError, describeError } from '../errors/index.js';
import { Defaults } from './defaults.js';
import { substituteEnv, type Env, type EnvProblem } from './env.js';
import type { RawConfig, RawKubernetes, RawRegistry, RawXds } from './raw.js';
import { registryKindSpec, type KindSettings, type RegistryKind } from '../registry/kinds.js';
import { formatPath, type PathSegment } from './path.js';
import type {
  AdminConfig,
  CheckpointConfig,
  Config,
  KubernetesSinkConfig,
  LeaderElectionConfig,
  RegistryCommonConfig,
  RegistryConfig,
  XdsSinkConfig,
} from './types.js';
import { checkSchema, checkSemantics, type Problem } from './validate.js';

export interface ParseConfigOptions {
  /**
   * The file the text came from: named in error paths, and its folder is the base of relative
   * paths. Undefined: relative paths resolve against the working directory.
   */
  readonly sourcePath?: string | undefined;
  /** Where `${ENV:NAME}` values come from. Default: process.env. */
  readonly env?: Env | undefined;
}

/**
 * Reads and parses a config file (see parseConfig).
 *
 * @throws MeshbridgeError MB_CONFIG_READ if the file cannot be read, else as parseConfig.
 */
export async function loadConfig(path: string, env: Env = process.env): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new MeshbridgeError(ErrorCode.CONFIG_READ, `cannot read config file: ${describeError(e)}`, { path, cause: e });
  }
  return completeConfig(parseConfig(text, { sourcePath: path, env }));
}

/**
 * Completes a parsed config with what needs I/O: each kind's `prepare` (a plug-in kind loads its
 * package and validates its settings with the package's schema, docs/plugins.md). A config
 * without such kinds is returned as it is, and nothing is imported for it.
 *
 * @throws MeshbridgeError MB_CONFIG_INVALID listing every problem by key path (e.g.
 *   `registries[0].plugin.settings.url`); MB_PLUGIN_NOT_FOUND / MB_PLUGIN_INVALID from a plug-in.
 */
export async function completeConfig(config: Config): Promise<Config> {
  if (!config.registries.some((r) => registryKindSpec(r.kind).prepare !== undefined)) return config;
  const problems: Problem[] = [];
  const registries = await Promise.all(
    config.registries.map(async (r, i) => {
      const spec = registryKindSpec(r.kind);
      if (spec.prepare === undefined) return r;
      const add = (at: readonly PathSegment[], message: string): void => void problems.push({ path: formatPath(['registries', i, r.kind, ...at]), message });
      const settings = (r as unknown as Record<string, KindSettings<RegistryKind>>)[r.kind];
      if (settings === undefined) throw new MeshbridgeError(ErrorCode.INTERNAL, `${r.kind} registry without its settings`);
      return { ...r, [r.kind]: await spec.prepare(settings, add) };
    }),
  );
  if (problems.length > 0) throw invalid(problems, config.source !== undefined ? { path: config.source } : {});
  return deepFreeze({ ...config, registries });
}

/**
 * Parses YAML (or JSON) config text into a resolved, deeply frozen Config.
 *
 * Order: YAML syntax (MB_CONFIG_PARSE, with line and column) -> `${ENV:...}` substitution in
 * string values (MB_CONFIG_ENV_MISSING naming every key and variable; malformed references are
 * MB_CONFIG_INVALID) -> schema (MB_CONFIG_INVALID listing every problem by key path) -> semantic
 * checks (MB_CONFIG_INVALID) -> defaults and path resolution. The error's `path` is the source
 * file; `details.problems` lists `{path, message}` per problem. Environment values never appear
 * in messages. Pure apart from reading `env` and, without `sourcePath`, the working directory.
 */
export function parseConfig(text: string, options: ParseConfigOptions = {}): Config {
  const source = options.sourcePath;
  const errOpts = source !== undefined ? { path: source } : {};
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const yamlError = doc.errors[0];
  if (yamlError !== undefined) {
    throw new MeshbridgeError(ErrorCode.CONFIG_PARSE, describeYamlError(yamlError), {
      ...errOpts,
      cause: yamlError,
      details: positionOf(yamlError),
    });
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new MeshbridgeError(ErrorCode.CONFIG_PARSE, `not a usable YAML document: ${describeError(e)}`, { ...errOpts, cause: e });
  }

  const env = substituteEnv(data, options.env ?? process.env);
  if (env.malformed.length > 0) throw invalid(env.malformed, errOpts);
  if (env.missing.length > 0) {
    throw new MeshbridgeError(ErrorCode.CONFIG_ENV_MISSING, listing('environment variable missing', env.missing), {
      ...errOpts,
      details: { problems: env.missing.map((m: EnvProblem) => ({ path: m.path, variable: m.variable, message: m.message })) },
    });
  }

  const { config: raw, problems } = checkSchema(env.value, env.substituted);
  if (raw === undefined) throw invalid(problems, errOpts);
  const semantic = checkSemantics(raw, env.substituted);
  if (semantic.length > 0) throw invalid(semantic, errOpts);

  const base = source !== undefined ? dirname(resolve(source)) : process.cwd();
  return deepFreeze(resolveConfig(raw, base, source !== undefined ? resolve(source) : undefined));
}

function invalid(problems: readonly Problem[], errOpts: { path?: string }): MeshbridgeError {
  return new MeshbridgeError(ErrorCode.CONFIG_INVALID, listing('invalid config', problems), {
    ...errOpts,
    details: { problems: problems.map((p) => ({ path: p.path, message: p.message })) },
  });
}

function listing(head: string, problems: readonly Problem[]): string {
  const first = problems[0];
  if (problems.length === 1 && first !== undefined) return `${head}: ${first.path}: ${first.message}`;
  return `${head} (${problems.length} problems):\n${problems.map((p) => `  - ${p.path}: ${p.message}`).join('\n')}`;
}

function positionOf(e: YAMLError): { line?: number; column?: number } {
  const pos = e.linePos?.[0];
  return pos !== undefined ? { line: pos.line, column: pos.col } : {};
}

/** `line L, column C: <reason>` followed by yaml's excerpt of the offending lines. */
function describeYamlError(e: YAMLError): string {
  const pos = e.linePos?.[0];
  const [firstLine = '', ...rest] = e.message.split('\n');
  const reason = firstLine.replace(/ at line \d+, column \d+:?$/, '');
  const excerpt = rest.join('\n').replace(/^\n+|\n+$/g, '');
  const where = pos !== undefined ? `line ${pos.line}, column ${pos.col}: ` : '';
  return `${where}${reason}${excerpt !== '' ? `\n${excerpt}` : ''}`;
}

function resolveCheckpoint(raw: RawConfig, base: string): CheckpointConfig | undefined {
  const c = raw.checkpoint;
  if (c === undefined || (c.path === undefined && c.configMap === undefined)) return undefined;
  const cm = c.configMap;
  const k = raw.sinks?.kubernetes;
  const kubeconfig = cm === undefined ? undefined : (cm.kubeconfig ?? k?.kubeconfig);
  return {
    path: c.path === undefined ? undefined : resolve(base, c.path),
    configMap:
      cm === undefined
        ? undefined
        : {
            name: cm.name ?? Defaults.checkpoint.configMapName,
            namespace: cm.namespace,
            kubeconfig: kubeconfig === undefined ? undefined : resolve(base, kubeconfig),
            context: cm.kubeconfig !== undefined ? cm.context : (cm.context ?? k?.context),
          },
    intervalSeconds: c.intervalSeconds ?? Defaults.checkpoint.intervalSeconds,
  };
}

/** Applies defaults and resolves paths against `base`. Input is schema- and semantics-valid. */
function resolveConfig(raw: RawConfig, base: string, source: string | undefined): Config {
  const adminAddress = raw.admin === null ? null : raw.admin?.address === undefined ? Defaults.admin.address : raw.admin.address;
  const admin: AdminConfig | undefined = adminAddress === null || adminAddress === '' ? undefined : { address: adminAddress };
  return {
    source,
    instance: raw.instance ?? Defaults.instance,
    registries: raw.registries.map((r) => resolveRegistry(r, base)),
    conflictPolicy: raw.conflictPolicy ?? Defaults.conflictPolicy,
    vipCidr: raw.vipCidr ?? Defaults.vipCidr,
    startup: { syncTimeoutSeconds: raw.startup?.syncTimeoutSeconds ?? Defaults.startup.syncTimeoutSeconds },
    checkpoint: resolveCheckpoint(raw, base),
    debounce: {
      quietPeriodMs: raw.debounce?.quietPeriodMs ?? Defaults.debounce.quietPeriodMs,
      maxDelayMs: raw.debounce?.maxDelayMs ?? Defaults.debounce.maxDelayMs,
      leadingEdge: raw.debounce?.leadingEdge ?? Defaults.debounce.leadingEdge,
    },
    sinks: {
      xds: raw.sinks?.xds !== undefined ? resolveXds(raw.sinks.xds, base) : undefined,
      kubernetes: raw.sinks?.kubernetes !== undefined ? resolveKubernetes(raw.sinks.kubernetes, base) : undefined,
      render: raw.sinks?.render !== undefined ? { out: opt(raw.sinks.render.out, (p) => resolve(base, p)) } : undefined,
    },
    admin,
    log: { level: raw.log?.level ?? Defaults.log.level, format: raw.log?.format ?? Defaults.log.format },
  };
}

function resolveRegistry(r: RawRegistry, base: string): RegistryConfig {
  const d = Defaults.registry;
  const common: RegistryCommonConfig = {
    name: r.name,
    namespace: r.namespace,
    hostTemplate: r.hostTemplate ?? defaultHostTemplate(r.kind),
    exportTo: [...(r.exportTo ?? [])],
    form: r.form ?? d.form,
    addresses: r.addresses ?? d.addresses,
    includeUnhealthy: r.includeUnhealthy ?? d.includeUnhealthy,
    defaultProtocol: r.defaultProtocol ?? d.defaultProtocol,
    portProtocols: { ...r.portProtocols },
    namespaceMap: { ...r.namespaceMap },
    network: r.network,
    labels: { ...r.labels },
    protectPercent: r.protectPercent ?? d.protectPercent,
    protectEndpointPercent: r.protectEndpointPercent ?? d.protectEndpointPercent,
    protectWindowSeconds: r.protectWindowSeconds ?? d.protectWindowSeconds,
    protectHoldMaxSeconds: r.protectHoldMaxSeconds ?? d.protectHoldMaxSeconds,
    protectSettleSeconds: r.protectSettleSeconds ?? d.protectSettleSeconds,
    // Absent when not configured (not undefined-valued): configs without them resolve as before.
    ...(r.select !== undefined ? { select: resolveSelect(r.select) } : {}),
    ...(r.identity !== undefined ? { identity: structuredClone(r.identity) } : {}),
    sidecars: r.sidecars === undefined ? undefined : resolveSidecars(r.sidecars),
    publish: {
      serviceEntries: r.publish?.serviceEntries ?? d.publish.serviceEntries,
      kubernetesServices: r.publish?.kubernetesServices ?? d.publish.kubernetesServices,
    },
  };
  const block = r[r.kind];
  if (block === undefined) throw new MeshbridgeError(ErrorCode.INTERNAL, `${r.kind} registry without its ${r.kind} block passed validation`);
  // The union member is chosen by r.kind; TypeScript cannot correlate the computed key with it.
  return { ...common, kind: r.kind, [r.kind]: registryKindSpec(r.kind).resolve(block, base) } as RegistryConfig;
}

/** The select block with endpoints.scope defaulted (structuredClone: the config is frozen after). */
function resolveSelect(s: SelectionRules): SelectionRules {
  const out = structuredClone(s);
  return out.endpoints === undefined ? out : { ...out, endpoints: { ...out.endpoints, scope: out.endpoints.scope ?? EndpointScope.ENDPOINTS } };
}

function resolveSidecars(s: NonNullable<RawRegistry['sidecars']>): SidecarOptions {
  return {
    namespace: s.namespace,
    namespaces: { ...s.namespaces },
    workloadLabels: { ...(s.workloadLabels ?? defaultSidecarOptions.workloadLabels) },
    alwaysInclude: [...(s.alwaysInclude ?? defaultSidecarOptions.alwaysInclude)],
  };
}

function resolveXds(x: RawXds, base: string): XdsSinkConfig {
  const d = Defaults.xds;
  const k = x.keepalive;
  return {
    address: x.address,
    keepalive: {
      timeMs: k?.timeMs ?? d.keepaliveTimeMs,
      timeoutMs: k?.timeoutMs ?? d.keepaliveTimeoutMs,
      maxConnectionIdleMs: k?.maxConnectionIdleMs,
      maxConnectionAgeMs: k?.maxConnectionAgeMs,
      maxConnectionAgeGraceMs: k?.maxConnectionAgeGraceMs,
    },
    tls: x.tls !== undefined ? { certFile: resolve(base, x.tls.certFile), keyFile: resolve(base, x.tls.keyFile) } : undefined,
    maxConcurrentStreams: x.maxConcurrentStreams,
    maxSendMessageBytes: x.maxSendMessageBytes ?? d.maxSendMessageBytes,
    maxReceiveMessageBytes: x.maxReceiveMessageBytes ?? d.maxReceiveMessageBytes,
    shutdownGraceMs: x.shutdownGraceMs ?? d.shutdownGraceMs,
    shards: x.shards ?? d.shards,
  };
}

function resolveKubernetes(k: RawKubernetes, base: string): KubernetesSinkConfig {
  const d = Defaults.kubernetes;
  const le = k.leaderElection;
  const dl = Defaults.leaderElection;
  let leaderElection: LeaderElectionConfig | undefined;
  if (le !== undefined && (le.enabled ?? dl.enabled) && le.namespace !== undefined) {
    leaderElection = {
      namespace: le.namespace,
      name: le.name ?? dl.name,
      leaseDurationSeconds: le.leaseDurationSeconds ?? dl.leaseDurationSeconds,
      renewDeadlineSeconds: le.renewDeadlineSeconds ?? dl.renewDeadlineSeconds,
      retryPeriodSeconds: le.retryPeriodSeconds ?? dl.retryPeriodSeconds,
      identity: le.identity,
    };
  }
  return {
    kubeconfig: opt(k.kubeconfig, (p) => resolve(base, p)),
    context: k.context,
    qps: k.qps ?? d.qps,
    burst: k.burst ?? d.burst,
    maxDeletePercent: k.maxDeletePercent ?? d.maxDeletePercent,
    concurrency: k.concurrency ?? d.concurrency,
    cleanupScope: k.cleanupScope ?? d.cleanupScope,
    leaderElection,
  };
}

function opt<T, U>(v: T | undefined, f: (v: T) => U): U | undefined {
  return v === undefined ? undefined : f(v);
}

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}
