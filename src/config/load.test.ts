import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, MeshbridgeError } from '../errors/index.js';
import { loadConfig, parseConfig } from './load.js';
import type { RegistryConfig } from './types.js';

/** The `file` block of a registry the test knows is of kind file. */
function fileOf(r: RegistryConfig | undefined) {
  assert.ok(r?.kind === 'file');
  return r.file;
}

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const SRC = '/etc/meshbridge/meshbridge.yaml';

const MINIMAL = `
registries:
  - {name: demo, kind: file, file: {path: services.yaml}, namespace: demo}
sinks: {render: {}}
`;

function parse(text: string, env: Record<string, string> = {}) {
  return parseConfig(text, { sourcePath: SRC, env });
}

/** Runs `fn`, asserts a MeshbridgeError with `code`, returns it. */
function fails(code: string, fn: () => unknown): MeshbridgeError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof MeshbridgeError, `not a MeshbridgeError: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected ${code}`);
}

function problems(e: MeshbridgeError): { path: string; message: string }[] {
  return (e.details?.['problems'] ?? []) as { path: string; message: string }[];
}

test('minimal config: defaults applied, paths resolved against the config folder', () => {
  const c = parse(MINIMAL);
  assert.equal(c.source, SRC);
  const r = c.registries[0]!;
  assert.deepEqual(r, {
    name: 'demo',
    kind: 'file',
    file: { path: '/etc/meshbridge/services.yaml', pollIntervalMs: 5000, maxBytes: 32 * 1024 * 1024 },
    namespace: 'demo',
    hostTemplate: '{name}.{namespace}.{registry}.local',
    exportTo: [],
    form: 'inline',
    addresses: 'providers',
    includeUnhealthy: false,
    defaultProtocol: 'TCP',
    portProtocols: {},
    namespaceMap: {},
    network: undefined,
    labels: {},
    protectPercent: 50,
    protectEndpointPercent: 50,
    protectWindowSeconds: 300,
    protectHoldMaxSeconds: 0,
    protectSettleSeconds: 30,
    sidecars: undefined,
    publish: { serviceEntries: true, kubernetesServices: false },
  });
  assert.equal(c.conflictPolicy, 'merge');
  assert.deepEqual(c.startup, { syncTimeoutSeconds: 120 });
  assert.equal(c.checkpoint, undefined);
  assert.equal(c.instance, 'meshbridge');
  assert.deepEqual(c.debounce, { quietPeriodMs: 100, maxDelayMs: 1000, leadingEdge: true });
  assert.deepEqual(c.sinks, { xds: undefined, kubernetes: undefined, render: { out: undefined } });
  assert.deepEqual(c.admin, { address: '127.0.0.1:15080' });
  assert.deepEqual(c.log, { level: 'info', format: 'json' });
});

test('the result is deeply frozen', () => {
  const c = parse(MINIMAL);
  assert.ok(Object.isFrozen(c));
  assert.ok(Object.isFrozen(c.registries));
  assert.ok(Object.isFrozen(fileOf(c.registries[0])));
  assert.ok(Object.isFrozen(c.registries[0]!.labels));
});

const FULL = `
# yaml-language-server: $schema=../schema/meshbridge.schema.json
$schema: ../schema/meshbridge.schema.json
registries:
  - name: dubbo-file
    kind: file
    file: {path: ./reg/services.yaml, pollIntervalMs: 0, maxBytes: 1048576}
    namespace: dubbo
    hostTemplate: "{name}.{group}.dubbo"
    exportTo: [".", istio-system]
    form: workloadEntry
    includeUnhealthy: true
    defaultProtocol: GRPC
    portProtocols: {"20880": TCP, http-api: HTTP}
    network: net-1
    labels: {team: payments, example.com/tier: gold}
    protectPercent: 30
    protectEndpointPercent: 40
    protectWindowSeconds: 60
    protectHoldMaxSeconds: 900
    protectSettleSeconds: 10
    publish: {serviceEntries: true, kubernetesServices: true}
  - name: second
    kind: file
    file: {path: /abs/other.json}
    namespace: other
conflictPolicy: precedence
startup: {syncTimeoutSeconds: 45}
checkpoint: {path: state/checkpoint.json, intervalSeconds: 10}
debounce: {quietPeriodMs: 50, maxDelayMs: 500, leadingEdge: false}
sinks:
  xds:
    address: "[::]:15050"
    keepalive: {timeMs: 1000, timeoutMs: 2000, maxConnectionIdleMs: 3000, maxConnectionAgeMs: 4000, maxConnectionAgeGraceMs: 5000}
    tls: {certFile: tls/cert.pem, keyFile: /secrets/key.pem}
    maxConcurrentStreams: 100
    maxSendMessageBytes: 1048576
    maxReceiveMessageBytes: 65536
    shutdownGraceMs: 0
    shards: 2
  kubernetes:
    kubeconfig: kube/config
    context: kind-test
    qps: 5.5
    burst: 10
    maxDeletePercent: 100
    concurrency: 2
    cleanupScope: namespaces
    leaderElection: {enabled: true, namespace: meshbridge, name: mb-leader, leaseDurationSeconds: 30, renewDeadlineSeconds: 20, retryPeriodSeconds: 5, identity: pod-a}
  render: {out: ../out}
admin: {address: "0.0.0.0:9090"}
log: {level: debug, format: json}
`;

test('full config: every key read, relative paths resolved, absolute kept', () => {
  const c = parse(FULL);
  const [a, b] = c.registries;
  assert.deepEqual(a, {
    name: 'dubbo-file',
    kind: 'file',
    file: { path: '/etc/meshbridge/reg/services.yaml', pollIntervalMs: 0, maxBytes: 1048576 },
    namespace: 'dubbo',
    hostTemplate: '{name}.{group}.dubbo',
    exportTo: ['.', 'istio-system'],
    form: 'workloadEntry',
    addresses: 'providers',
    includeUnhealthy: true,
    defaultProtocol: 'GRPC',
    portProtocols: { '20880': 'TCP', 'http-api': 'HTTP' },
    namespaceMap: {},
    network: 'net-1',
    labels: { team: 'payments', 'example.com/tier': 'gold' },
    protectPercent: 30,
    protectEndpointPercent: 40,
    protectWindowSeconds: 60,
    protectHoldMaxSeconds: 900,
    protectSettleSeconds: 10,
    sidecars: undefined,
    publish: { serviceEntries: true, kubernetesServices: true },
  });
  assert.equal(fileOf(b).path, '/abs/other.json');
  assert.equal(c.conflictPolicy, 'precedence');
  assert.deepEqual(c.startup, { syncTimeoutSeconds: 45 });
  assert.equal(c.checkpoint?.intervalSeconds, 10);
  assert.match(c.checkpoint?.path ?? '', /^\/.*\/state\/checkpoint\.json$/);
  assert.deepEqual(c.debounce, { quietPeriodMs: 50, maxDelayMs: 500, leadingEdge: false });
  assert.deepEqual(c.sinks.xds, {
    address: '[::]:15050',
    keepalive: { timeMs: 1000, timeoutMs: 2000, maxConnectionIdleMs: 3000, maxConnectionAgeMs: 4000, maxConnectionAgeGraceMs: 5000 },
    tls: { certFile: '/etc/meshbridge/tls/cert.pem', keyFile: '/secrets/key.pem' },
    maxConcurrentStreams: 100,
    maxSendMessageBytes: 1048576,
    maxReceiveMessageBytes: 65536,
    shutdownGraceMs: 0,
    shards: 2,
  });
  assert.deepEqual(c.sinks.kubernetes, {
    kubeconfig: '/etc/meshbridge/kube/config',
    context: 'kind-test',
    qps: 5.5,
    burst: 10,
    maxDeletePercent: 100,
    concurrency: 2,
    cleanupScope: 'namespaces',
    leaderElection: { namespace: 'meshbridge', name: 'mb-leader', leaseDurationSeconds: 30, renewDeadlineSeconds: 20, retryPeriodSeconds: 5, identity: 'pod-a' },
  });
  assert.deepEqual(c.sinks.render, { out: '/etc/out' });
  assert.deepEqual(c.admin, { address: '0.0.0.0:9090' });
  assert.equal(c.log.level, 'debug');
});

test('JSON config text is accepted', () => {
  const c = parse(JSON.stringify({ registries: [{ name: 'j', kind: 'file', file: { path: 'x.json' }, namespace: 'ns' }], sinks: { xds: { address: 'localhost:0' } } }));
  assert.equal(c.sinks.xds?.address, 'localhost:0');
});

test('without sourcePath relative paths resolve against the working directory', () => {
  const c = parseConfig(MINIMAL, { env: {} });
  assert.equal(c.source, undefined);
  assert.equal(fileOf(c.registries[0]).path, resolve('services.yaml'));
});

test('leader election: defaults; disabled or absent -> undefined', () => {
  const base = (le: string) => parse(`${MINIMAL}\n  kubernetes: {leaderElection: ${le}}\n`.replace('sinks: {render: {}}\n', 'sinks:\n  render: {}'));
  assert.deepEqual(base('{enabled: true, namespace: mb}').sinks.kubernetes?.leaderElection, {
    namespace: 'mb',
    name: 'meshbridge',
    leaseDurationSeconds: 15,
    renewDeadlineSeconds: 10,
    retryPeriodSeconds: 2,
    identity: undefined,
  });
  assert.equal(base('{enabled: false}').sinks.kubernetes?.leaderElection, undefined);
  const k = base('{enabled: false}').sinks.kubernetes!;
  assert.deepEqual({ qps: k.qps, burst: k.burst, maxDeletePercent: k.maxDeletePercent, concurrency: k.concurrency, kubeconfig: k.kubeconfig }, {
    qps: 20,
    burst: 40,
    maxDeletePercent: 50,
    concurrency: 8,
    kubeconfig: undefined,
  });
  const e = fails(ErrorCode.CONFIG_INVALID, () => base('{enabled: true}'));
  assert.match(e.message, /sinks\.kubernetes\.leaderElection\.namespace: is required/);
  const e2 = fails(ErrorCode.CONFIG_INVALID, () => base('{enabled: true, namespace: x, leaseDurationSeconds: 10, renewDeadlineSeconds: 10}'));
  assert.match(e2.message, /leaderElection\.leaseDurationSeconds: must exceed renewDeadlineSeconds \(10\)/);
});

test('admin: "" or null disables it', () => {
  assert.equal(parse(`${MINIMAL}admin: {address: ""}\n`).admin, undefined);
  assert.equal(parse(`${MINIMAL}admin: {address: null}\n`).admin, undefined);
  assert.equal(parse(`${MINIMAL}admin: {address: ~}\n`).admin, undefined);
  assert.deepEqual(parse(`${MINIMAL}admin: {}\n`).admin, { address: '127.0.0.1:15080' });
});

test('examples/meshbridge.yaml loads', async () => {
  const c = await loadConfig(join(repo, 'examples/meshbridge.yaml'), {});
  assert.equal(c.source, join(repo, 'examples/meshbridge.yaml'));
  assert.equal(fileOf(c.registries[0]).path, join(repo, 'examples/services.yaml'));
  assert.ok(c.sinks.xds !== undefined || c.sinks.kubernetes !== undefined || c.sinks.render !== undefined);
});

test('loadConfig reads a file; unreadable file -> MB_CONFIG_READ with the path', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mb-config-'));
  await writeFile(join(dir, 'c.yaml'), MINIMAL);
  const c = await loadConfig(join(dir, 'c.yaml'), {});
  assert.equal(fileOf(c.registries[0]).path, join(dir, 'services.yaml'));
  for (const p of [join(dir, 'missing.yaml'), dir]) {
    await assert.rejects(loadConfig(p, {}), (e: unknown) => {
      assert.ok(e instanceof MeshbridgeError);
      assert.equal(e.code, ErrorCode.CONFIG_READ);
      assert.equal(e.path, p);
      assert.match(e.message, /cannot read config file/);
      return true;
    });
  }
});

test('bad YAML -> MB_CONFIG_PARSE with line and column', () => {
  const e = fails(ErrorCode.CONFIG_PARSE, () => parse('registries:\n  - name: a\n    kind: [file\nsinks: {}\n'));
  assert.match(e.message, /line \d+, column \d+: /);
  assert.equal(typeof e.details?.['line'], 'number');
  assert.equal(typeof e.details?.['column'], 'number');
  assert.equal(e.path, SRC);
  const nested = fails(ErrorCode.CONFIG_PARSE, () => parse('a: 1\nb: c: d\n'));
  assert.match(nested.message, /^\/etc\/meshbridge\/meshbridge\.yaml: line 2, column 4: Nested mappings/);
  assert.deepEqual(nested.details, { line: 2, column: 4 });
});

test('duplicate YAML keys -> MB_CONFIG_PARSE', () => {
  const e = fails(ErrorCode.CONFIG_PARSE, () => parse(`${MINIMAL}sinks: {xds: {address: "a:1"}}\n`));
  assert.match(e.message, /line 5, column 1: Map keys must be unique/);
});

test('empty file and non-mapping -> MB_CONFIG_INVALID at the root', () => {
  assert.match(fails(ErrorCode.CONFIG_INVALID, () => parse('')).message, /\(root\): must be a mapping, got null/);
  assert.match(fails(ErrorCode.CONFIG_INVALID, () => parse('- a\n')).message, /\(root\): must be a mapping, got a list/);
});

test('unknown key (typo) names its path and suggests the right key', () => {
  const e = fails(ErrorCode.CONFIG_INVALID, () =>
    parse(`
registries:
  - {name: demo, kind: file, file: {path: s.yaml, pollIntervalMS: 5}, namespce: demo}
sinks: {xds: {adress: "127.0.0.1:1"}}
debounse: {}
`),
  );
  const byPath = new Map(problems(e).map((p) => [p.path, p.message]));
  assert.match(byPath.get('registries[0].file.pollIntervalMS') ?? '', /unknown key \(did you mean "pollIntervalMs"\?\)/);
  assert.match(byPath.get('registries[0].namespce') ?? '', /did you mean "namespace"/);
  assert.match(byPath.get('registries[0].namespace') ?? '', /is required/);
  assert.match(byPath.get('sinks.xds.adress') ?? '', /did you mean "address"/);
  assert.match(byPath.get('sinks.xds.address') ?? '', /is required/);
  assert.match(byPath.get('debounse') ?? '', /did you mean "debounce"/);
  // Every problem is in the message.
  for (const p of problems(e)) assert.ok(e.message.includes(`${p.path}: ${p.message}`), p.path);
  assert.match(e.message, /invalid config \(\d+ problems\):/);
});

test('wrong types, bad enums, out-of-range numbers, bad patterns', () => {
  const e = fails(ErrorCode.CONFIG_INVALID, () =>
    parse(`
registries:
  - name: Demo_1
    kind: file
    file: {path: s.yaml, maxBytes: 0}
    namespace: demo
    form: sidecar
    protectPercent: 101
    includeUnhealthy: "yes"
    exportTo: [".", "."]
    labels: {"bad key!": v}
    portProtocols: {"80": HTTP3}
conflictPolicy: first
instance: "prod/eu"
debounce: {quietPeriodMs: "100"}
sinks: {render: {out: 5}}
log: {level: verbose}
`),
  );
  const byPath = new Map(problems(e).map((p) => [p.path, p.message]));
  const expect: Record<string, RegExp> = {
    'registries[0].name': /must be a DNS label .*; got string "Demo_1"/,
    'registries[0].file.maxBytes': /must be >= 1; got number 0/,
    'registries[0].form': /must be one of: inline, workloadEntry; got string "sidecar"/,
    'registries[0].protectPercent': /must be <= 100/,
    'registries[0].includeUnhealthy': /must be a boolean, got string "yes"/,
    'registries[0].exportTo': /must not list a value twice/,
    'registries[0].labels["bad key!"]': /invalid key: must be a Kubernetes label key/,
    'registries[0].portProtocols["80"]': /must be one of: HTTP, HTTPS, GRPC/,
    conflictPolicy: /must be one of: merge, precedence; got string "first"/,
    instance: /must be a Kubernetes label value/,
    'debounce.quietPeriodMs': /must be an integer, got string "100"/,
    'sinks.render.out': /must be a string, got number 5/,
    'log.level': /must be one of: trace, debug, info, warn, error/,
  };
  for (const [path, re] of Object.entries(expect)) assert.match(byPath.get(path) ?? `(no problem at ${path})`, re, path);
});

test('an unknown registry kind names the implemented ones; a kind needs its settings block', () => {
  const e = fails(ErrorCode.CONFIG_INVALID, () =>
    parse('registries:\n  - {name: c, kind: mdns, namespace: n}\nsinks: {render: {}}\n'),
  );
  assert.match(e.message, /registries\[0\]\.kind: must be one of: file, consul, nacos, eureka, zookeeper, etcd, http, plugin; got string "mdns"/);
  const e2 = fails(ErrorCode.CONFIG_INVALID, () => parse('registries:\n  - {name: c, kind: file, namespace: n}\nsinks: {render: {}}\n'));
  assert.match(e2.message, /registries\[0\]\.file: is required/);
});

test('missing required top-level keys, no registries, an empty sinks block; no sinks at all is a config (render, check)', () => {
  const e = fails(ErrorCode.CONFIG_INVALID, () => parse('log: {level: info}\n'));
  assert.deepEqual(problems(e).map((p) => p.path).sort(), ['registries']);
  const noSinks = parse(MINIMAL.replace('sinks: {render: {}}', ''));
  assert.deepEqual(noSinks.sinks, { xds: undefined, kubernetes: undefined, render: undefined }, '`run` refuses it (cli), render and check need only registries');
  assert.match(fails(ErrorCode.CONFIG_INVALID, () => parse('registries: []\nsinks: {render: {}}\n')).message, /registries: at least one registry is required/);
  assert.match(
    fails(ErrorCode.CONFIG_INVALID, () => parse(MINIMAL.replace('sinks: {render: {}}', 'sinks: {}'))).message,
    /sinks: must configure at least one of: xds, kubernetes, render/,
  );
});

test('duplicate registry names', () => {
  const e = fails(ErrorCode.CONFIG_INVALID, () =>
    parse(`
registries:
  - {name: a, kind: file, file: {path: 1.yaml}, namespace: n}
  - {name: b, kind: file, file: {path: 2.yaml}, namespace: n}
  - {name: a, kind: file, file: {path: 3.yaml}, namespace: n}
sinks: {render: {}}
`),
  );
  assert.match(e.message, /registries\[2\]\.name: duplicate registry name "a" \(also registries\[0\]\.name\)/);
});

test('semantic checks: addresses, host templates, debounce order, reserved labels, port keys', () => {
  const cases: [string, string, RegExp][] = [
    ['sinks: {xds: {address: "127.0.0.1"}}', 'sinks.xds.address', /expected host:port/],
    ['sinks: {xds: {address: "::1:15050"}}', 'sinks.xds.address', /expected host:port/],
    ['sinks: {xds: {address: "[zz]:15050"}}', 'sinks.xds.address', /not an IPv6 address/],
    ['sinks: {xds: {address: "host:70000"}}', 'sinks.xds.address', /out of range/],
    ['sinks: {xds: {address: ":15050"}}', 'sinks.xds.address', /missing host/],
    ['sinks: {xds: {address: "999.1.1.1:1"}}', 'sinks.xds.address', /not an IP address or host name/],
    ['sinks: {render: {}}\nadmin: {address: "nope"}', 'admin.address', /expected host:port/],
    ['sinks: {render: {}}\ndebounce: {quietPeriodMs: 500, maxDelayMs: 100}', 'debounce.maxDelayMs', /must be >= debounce\.quietPeriodMs \(500\)/],
  ];
  for (const [tail, path, re] of cases) {
    const e = fails(ErrorCode.CONFIG_INVALID, () => parse(MINIMAL.replace('sinks: {render: {}}', tail)));
    assert.match(problems(e).find((p) => p.path === path)?.message ?? `(nothing at ${path}: ${e.message})`, re, tail);
  }
  const reg = (extra: string) => parse(`registries:\n  - {name: a, kind: file, file: {path: x}, namespace: n, ${extra}}\nsinks: {render: {}}\n`);
  const regCases: [string, string, RegExp][] = [
    ['hostTemplate: "{group}.svc"', 'registries[0].hostTemplate', /must contain \{name\}/],
    ['hostTemplate: "{name}.{Group}"', 'registries[0].hostTemplate', /unknown placeholder \{Group\}/],
    ['hostTemplate: "{name.svc"', 'registries[0].hostTemplate', /unbalanced/],
    ['hostTemplate: "{name}.Svc"', 'registries[0].hostTemplate', /lower-case/],
    ['hostTemplate: "{name}..svc"', 'registries[0].hostTemplate', /must not start or end/],
    ['labels: {meshbridge.io/registry: x}', 'registries[0].labels["meshbridge.io/registry"]', /reserved/],
    ['labels: {app.kubernetes.io/managed-by: x}', 'registries[0].labels["app.kubernetes.io/managed-by"]', /reserved/],
    ['portProtocols: {"0": TCP}', 'registries[0].portProtocols["0"]', /1-65535/],
  ];
  for (const [extra, path, re] of regCases) {
    const e = fails(ErrorCode.CONFIG_INVALID, () => reg(extra));
    assert.match(problems(e).find((p) => p.path === path)?.message ?? `(nothing at ${path}: ${e.message})`, re, extra);
  }
  assert.equal(reg('hostTemplate: "{name}.{group}.{version}.svc.cluster.local"').registries[0]!.hostTemplate, '{name}.{group}.{version}.svc.cluster.local');
});

test('${ENV:NAME} substitution, with default, empty value and escape', () => {
  const text = `
registries:
  - {name: a, kind: file, file: {path: "\${ENV:REG_DIR}/s.yaml"}, namespace: "\${ENV:NS:-fallback}", network: "\${ENV:EMPTY:-dflt}"}
sinks:
  xds: {address: "\${ENV:XDS_HOST}:\${ENV:XDS_PORT:-15050}"}
  kubernetes: {context: "$\${ENV:LITERAL}"}
`;
  const c = parse(text, { REG_DIR: '/srv/reg', XDS_HOST: '10.0.0.1', EMPTY: '' });
  assert.equal(fileOf(c.registries[0]).path, '/srv/reg/s.yaml');
  assert.equal(c.registries[0]!.namespace, 'fallback');
  assert.equal(c.registries[0]!.network, 'dflt');
  assert.equal(c.sinks.xds?.address, '10.0.0.1:15050');
  assert.equal(c.sinks.kubernetes?.context, '${ENV:LITERAL}');
  const c2 = parse(text, { REG_DIR: 'rel', XDS_HOST: 'h', NS: 'from-env', XDS_PORT: '1' });
  assert.equal(c2.registries[0]!.namespace, 'from-env');
  assert.equal(fileOf(c2.registries[0]).path, '/etc/meshbridge/rel/s.yaml');
  assert.equal(c2.sinks.xds?.address, 'h:1');
});

test('env missing -> MB_CONFIG_ENV_MISSING naming every key and variable', () => {
  const e = fails(ErrorCode.CONFIG_ENV_MISSING, () =>
    parse('registries:\n  - {name: a, kind: file, file: {path: "${ENV:P}"}, namespace: n}\nsinks: {kubernetes: {context: "${ENV:CTX}"}}\n', { OTHER: 'x' }),
  );
  assert.match(e.message, /registries\[0\]\.file\.path: environment variable P is not set/);
  assert.match(e.message, /sinks\.kubernetes\.context: environment variable CTX is not set/);
  assert.deepEqual(
    problems(e).map((p) => [p.path, (p as unknown as { variable: string }).variable]),
    [
      ['registries[0].file.path', 'P'],
      ['sinks.kubernetes.context', 'CTX'],
    ],
  );
});

test('malformed env references -> MB_CONFIG_INVALID', () => {
  const e = fails(ErrorCode.CONFIG_INVALID, () => parse(MINIMAL.replace('path: services.yaml', 'path: "${ENV:bad-name}"')));
  assert.match(e.message, /registries\[0\]\.file\.path: malformed reference/);
  const e2 = fails(ErrorCode.CONFIG_INVALID, () => parse(MINIMAL.replace('path: services.yaml', 'path: "${ENV:OPEN"')));
  assert.match(e2.message, /unterminated/);
});

test('values from the environment never appear in error messages', () => {
  const secret = 'S3cr3t-Value_with-Bad chars';
  const e = fails(ErrorCode.CONFIG_INVALID, () => parse(MINIMAL.replace('namespace: demo', 'namespace: "${ENV:NS}"'), { NS: secret }));
  assert.match(e.message, /registries\[0\]\.namespace: must be a DNS label.*got a value from the environment/);
  assert.ok(!e.message.includes(secret));
  assert.ok(!JSON.stringify(e.details).includes(secret));
  const e2 = fails(ErrorCode.CONFIG_INVALID, () => parse(MINIMAL.replace('{render: {}}', '{xds: {address: "${ENV:ADDR}"}}'), { ADDR: secret }));
  assert.ok(!e2.message.includes(secret), e2.message);
});

test('a __proto__ key is an unknown key, not a prototype', () => {
  const e = fails(ErrorCode.CONFIG_INVALID, () => parse(`${MINIMAL}log: {"__proto__": {level: debug}}\n`));
  assert.match(e.message, /log\["__proto__"\]: unknown key|log\.__proto__: unknown key/);
});

test('instance: a label value, default meshbridge; empty refused', () => {
  assert.equal(parse(`instance: staging\n${MINIMAL}`).instance, 'staging');
  const e = fails(ErrorCode.CONFIG_INVALID, () => parse(`instance: ""\n${MINIMAL}`));
  assert.deepEqual(problems(e).map((p) => p.path), ['instance']);
});

test('checkpoint.configMap: name defaulted, kubeconfig and context from the Kubernetes sink unless set; path or configMap, not both', () => {
  const kube = `
registries:
  - {name: demo, kind: file, file: {path: services.yaml}, namespace: demo}
sinks: {kubernetes: {kubeconfig: kube/config, context: ctx-a}}
`;
  const inherited = parse(`${kube}checkpoint: {configMap: {namespace: mesh}}\n`).checkpoint;
  assert.equal(inherited?.path, undefined);
  assert.deepEqual(inherited?.configMap, { name: 'meshbridge-checkpoint', namespace: 'mesh', kubeconfig: resolve(dirname(SRC), 'kube/config'), context: 'ctx-a' });
  const own = parse(`${kube}checkpoint: {configMap: {namespace: mesh, name: cp, kubeconfig: /other/config}}\n`).checkpoint?.configMap;
  assert.deepEqual(own, { name: 'cp', namespace: 'mesh', kubeconfig: '/other/config', context: undefined });
  const alone = parse(`${MINIMAL}checkpoint: {configMap: {namespace: mesh}}\n`).checkpoint?.configMap;
  assert.deepEqual(alone, { name: 'meshbridge-checkpoint', namespace: 'mesh', kubeconfig: undefined, context: undefined });
  const both = fails(ErrorCode.CONFIG_INVALID, () => parse(`${MINIMAL}checkpoint: {path: cp.json, configMap: {namespace: mesh}}\n`));
  assert.match(problems(both).find((p) => p.path === 'checkpoint.configMap')?.message ?? '', /not both/);
  const neither = fails(ErrorCode.CONFIG_INVALID, () => parse(`${MINIMAL}checkpoint: {intervalSeconds: 5}\n`));
  assert.match(problems(neither).find((p) => p.path === 'checkpoint')?.message ?? '', /needs path .* or configMap/);
  const noNs = fails(ErrorCode.CONFIG_INVALID, () => parse(`${MINIMAL}checkpoint: {configMap: {name: cp}}\n`));
  assert.ok(problems(noNs).some((p) => p.path.startsWith('checkpoint.configMap')), JSON.stringify(problems(noNs)));
});
