import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../errors/index.js';
import { parseSource } from './parse.js';
import { validateDocument } from './validate.js';

const FILE = 'reg.yaml';

function check(yaml: string) {
  const r = validateDocument(parseSource(yaml, FILE, 'yaml'), { registry: 'r1', file: FILE, defaultProtocol: 'TCP' });
  assert.equal(r.type, 'ok');
  if (r.type !== 'ok') throw new Error('unreachable');
  return { services: r.services, problems: r.problems.map((p) => `${p.code} ${p.path ?? ''}`) };
}

/** A good service followed by `bad` (as YAML list items) and another good service. */
function sandwich(bad: string): string {
  return `services:
  - name: first
    ports: [{number: 80, name: http}]
    instances: [{address: 10.0.0.1}]
${bad}
  - name: last
    ports: [{number: 80, name: http}]
    instances: [{address: 10.0.0.9}]
`;
}

const svc = (instance: string) => `  - name: mid
    ports: [{number: 80, name: http}, {number: 90, name: grpc, protocol: GRPC}]
    instances:
      - {address: 10.0.0.5}
      - ${instance}`;

interface Case {
  readonly name: string;
  readonly entry: string;
  readonly problems: readonly string[];
  /** Services left (first, last and maybe mid) and mid's endpoint count when it survives. */
  readonly services: number;
  readonly midEndpoints?: number;
}

const cases: readonly Case[] = [
  { name: 'service without name', entry: '  - ports: [{number: 80}]', problems: ['MB_ENTRY_INVALID reg.yaml: services[1].name'], services: 2 },
  { name: 'service name not a string', entry: '  - {name: [x], ports: [{number: 80}]}', problems: ['MB_ENTRY_INVALID reg.yaml: services[1].name'], services: 2 },
  { name: 'blank name', entry: '  - {name: "  ", ports: [{number: 80}]}', problems: ['MB_ENTRY_INVALID reg.yaml: services[1].name'], services: 2 },
  { name: 'service not a mapping', entry: '  - 42', problems: ['MB_ENTRY_INVALID reg.yaml: services[1]'], services: 2 },
  { name: 'no ports', entry: '  - {name: mid}', problems: ['MB_ENTRY_INVALID reg.yaml: services[1].ports'], services: 2 },
  { name: 'empty ports', entry: '  - {name: mid, ports: []}', problems: ['MB_ENTRY_INVALID reg.yaml: services[1].ports'], services: 2 },
  {
    name: 'only port out of range',
    entry: '  - {name: mid, ports: [{number: 65536}]}',
    problems: ['MB_ENTRY_BAD_PORT reg.yaml: services[1].ports[0].number', 'MB_ENTRY_INVALID reg.yaml: services[1].ports'],
    services: 2,
  },
  {
    name: 'one bad port among good ones',
    entry: '  - {name: mid, ports: [{number: 80}, {number: 1.5, name: x}], instances: [{address: a.b}]}',
    problems: ['MB_ENTRY_BAD_PORT reg.yaml: services[1].ports[1].number'],
    services: 3,
    midEndpoints: 1,
  },
  {
    name: 'unknown protocol',
    entry: '  - {name: mid, ports: [{number: 80}, {number: 81, protocol: SOAP}]}',
    problems: ['MB_ENTRY_INVALID reg.yaml: services[1].ports[1].protocol'],
    services: 3,
    midEndpoints: 0,
  },
  {
    name: 'bad targetPort',
    entry: '  - {name: mid, ports: [{number: 80}, {number: 81, targetPort: "x"}]}',
    problems: ['MB_ENTRY_BAD_PORT reg.yaml: services[1].ports[1].targetPort'],
    services: 3,
    midEndpoints: 0,
  },
  {
    name: 'duplicate port number',
    entry: '  - {name: mid, ports: [{number: 80, name: a}, {number: 80, name: b}]}',
    problems: ['MB_ENTRY_DUPLICATE_PORT reg.yaml: services[1].ports[1]'],
    services: 3,
    midEndpoints: 0,
  },
  {
    name: 'duplicate port name',
    entry: '  - {name: mid, ports: [{number: 80, name: a}, {number: 81, name: a}]}',
    problems: ['MB_ENTRY_DUPLICATE_PORT reg.yaml: services[1].ports[1]'],
    services: 3,
    midEndpoints: 0,
  },
  {
    name: 'duplicate service',
    entry: '  - {name: first, ports: [{number: 80}]}',
    problems: ['MB_ENTRY_DUPLICATE_SERVICE reg.yaml: services[1]'],
    services: 2,
  },
  { name: 'same name, other namespace', entry: '  - {name: first, namespace: other, ports: [{number: 80}]}', problems: [], services: 3, midEndpoints: 0 },
  { name: 'bad attribute', entry: '  - {name: mid, attributes: {a: {b: c}}, ports: [{number: 80}]}', problems: ['MB_ENTRY_INVALID reg.yaml: services[1].attributes.a'], services: 2 },
  { name: 'instances not a list', entry: '  - {name: mid, ports: [{number: 80}], instances: {a: b}}', problems: ['MB_ENTRY_INVALID reg.yaml: services[1].instances'], services: 2 },
  { name: 'unknown service key', entry: '  - {name: mid, prots: [], ports: [{number: 80}]}', problems: ['MB_ENTRY_INVALID reg.yaml: services[1].prots'], services: 3, midEndpoints: 0 },
  // instance-level: the instance is skipped, the service and its other instance survive
  { name: 'bad IPv4', entry: svc('{address: 10.0.0.256}'), problems: ['MB_ENTRY_BAD_ADDRESS reg.yaml: services[1].instances[1].address'], services: 3, midEndpoints: 1 },
  { name: 'bad host name', entry: svc('{address: "a_b.example"}'), problems: ['MB_ENTRY_BAD_ADDRESS reg.yaml: services[1].instances[1].address'], services: 3, midEndpoints: 1 },
  { name: 'address not a string', entry: svc('{address: 17}'), problems: ['MB_ENTRY_BAD_ADDRESS reg.yaml: services[1].instances[1].address'], services: 3, midEndpoints: 1 },
  { name: 'missing address', entry: svc('{weight: 1}'), problems: ['MB_ENTRY_INVALID reg.yaml: services[1].instances[1].address'], services: 3, midEndpoints: 1 },
  { name: 'instance not a mapping', entry: svc('10.0.0.6'), problems: ['MB_ENTRY_INVALID reg.yaml: services[1].instances[1]'], services: 3, midEndpoints: 1 },
  { name: 'instance port out of range', entry: svc('{address: 10.0.0.6, ports: {http: 0}}'), problems: ['MB_ENTRY_BAD_PORT reg.yaml: services[1].instances[1].ports.http'], services: 3, midEndpoints: 1 },
  { name: 'instance names unknown port', entry: svc('{address: 10.0.0.6, ports: {htp: 81}}'), problems: ['MB_ENTRY_INVALID reg.yaml: services[1].instances[1].ports.htp'], services: 3, midEndpoints: 1 },
  { name: 'healthy not a bool', entry: svc('{address: 10.0.0.6, healthy: "yes"}'), problems: ['MB_ENTRY_INVALID reg.yaml: services[1].instances[1].healthy'], services: 3, midEndpoints: 1 },
  { name: 'unknown health', entry: svc('{address: 10.0.0.6, health: sick}'), problems: ['MB_ENTRY_INVALID reg.yaml: services[1].instances[1].health'], services: 3, midEndpoints: 1 },
  { name: 'contradicting health', entry: svc('{address: 10.0.0.6, healthy: true, health: unhealthy}'), problems: ['MB_ENTRY_INVALID reg.yaml: services[1].instances[1].health'], services: 3, midEndpoints: 1 },
  { name: 'empty network', entry: svc('{address: 10.0.0.6, network: ""}'), problems: ['MB_ENTRY_INVALID reg.yaml: services[1].instances[1].network'], services: 3, midEndpoints: 1 },
  { name: 'labels not a mapping', entry: svc('{address: 10.0.0.6, labels: [a]}'), problems: ['MB_ENTRY_INVALID reg.yaml: services[1].instances[1].labels'], services: 3, midEndpoints: 1 },
  { name: 'duplicate instance', entry: svc('{address: 10.0.0.5}'), problems: ['MB_ENTRY_INVALID reg.yaml: services[1].instances[1]'], services: 3, midEndpoints: 1 },
  // field-level: reported, the instance survives
  {
    name: 'label value is an object',
    entry: svc('{address: 10.0.0.6, labels: {ok: v, "a.b/c": {x: 1}}}'),
    problems: ['MB_ENTRY_INVALID reg.yaml: services[1].instances[1].labels["a.b/c"]'],
    services: 3,
    midEndpoints: 2,
  },
  // a bad weight or locality is ignored, never a reason to take the endpoint out of the mesh
  { name: 'negative weight', entry: svc('{address: 10.0.0.6, weight: -1}'), problems: ['MB_ENTRY_INVALID reg.yaml: services[1].instances[1].weight'], services: 3, midEndpoints: 2 },
  { name: 'weight not a number', entry: svc('{address: 10.0.0.6, weight: heavy}'), problems: ['MB_ENTRY_INVALID reg.yaml: services[1].instances[1].weight'], services: 3, midEndpoints: 2 },
  { name: 'fractional and huge weights pass to conversion (rounded, clamped)', entry: svc('{address: 10.0.0.6, weight: 2.5}'), problems: [], services: 3, midEndpoints: 2 },
  { name: 'locality with 4 parts', entry: svc('{address: 10.0.0.6, locality: a/b/c/d}'), problems: ['MB_ENTRY_INVALID reg.yaml: services[1].instances[1].locality'], services: 3, midEndpoints: 2 },
  { name: 'locality unknown key', entry: svc('{address: 10.0.0.6, locality: {zone: z, rack: r}}'), problems: ['MB_ENTRY_INVALID reg.yaml: services[1].instances[1].locality.rack'], services: 3, midEndpoints: 2 },
  { name: 'locality part with a slash', entry: svc('{address: 10.0.0.6, locality: {region: "us/x"}}'), problems: ['MB_ENTRY_INVALID reg.yaml: services[1].instances[1].locality.region'], services: 3, midEndpoints: 2 },
  { name: 'unknown instance key', entry: svc('{address: 10.0.0.6, wieght: 3}'), problems: ['MB_ENTRY_INVALID reg.yaml: services[1].instances[1].wieght'], services: 3, midEndpoints: 2 },
  { name: 'same address, other port', entry: svc('{address: 10.0.0.5, ports: {http: 8080}}'), problems: [], services: 3, midEndpoints: 2 },
];

for (const c of cases) {
  test(`validate: ${c.name}`, () => {
    const { services, problems } = check(sandwich(c.entry));
    assert.deepEqual(problems, c.problems);
    assert.equal(services.length, c.services);
    assert.equal(services[0]?.name, 'first');
    assert.equal(services[services.length - 1]?.name, 'last');
    if (c.midEndpoints !== undefined) assert.equal(services[1]?.endpoints.length, c.midEndpoints);
  });
}

test('validate: a full entry maps onto the model', () => {
  const { services, problems } = check(`services:
  - name: reviews
    namespace: shop
    attributes: {group: g1, version: 1.10, canary: true}
    ports:
      - {number: 9080, name: http, protocol: http}
      - {number: 9090, name: grpc-api}
      - {number: 9100, targetPort: 19100}
      - {number: 9200, name: web, protocol: Grpc}
    instances:
      - address: 10.0.0.1
        ports: {http: 8080}
        labels: {version: v1, build: 42, stable: false}
        weight: 10
        locality: r1/z1/s1
        network: n1
        healthy: true
        id: i-1
      - address: "[2001:db8::1]"
        locality: {region: r2}
        health: UNHEALTHY
      - {address: reviews.example.com, healthy: false, locality: "r3//s3"}
      - {address: 10.0.0.4, locality: ""}
`);
  assert.deepEqual(problems, []);
  assert.deepEqual(services, [
    {
      registry: 'r1',
      registryKind: 'file',
      name: 'reviews',
      namespace: 'shop',
      attributes: { group: 'g1', version: '1.10', canary: 'true' },
      ports: [
        { number: 9080, name: 'http', protocol: 'HTTP' },
        { number: 9090, name: 'grpc-api', protocol: 'GRPC' },
        { number: 9100, name: 'tcp-9100', protocol: 'TCP', targetPort: 19100 },
        { number: 9200, name: 'web', protocol: 'GRPC' },
      ],
      endpoints: [
        {
          address: '10.0.0.1',
          ports: { http: 8080, 'grpc-api': 9090, 'tcp-9100': 19100, web: 9200 },
          labels: { version: 'v1', build: '42', stable: 'false' },
          weight: 10,
          locality: { region: 'r1', zone: 'z1', subzone: 's1' },
          network: 'n1',
          health: 'healthy',
          origin: 'r1',
          instanceId: 'i-1',
        },
        {
          address: '2001:db8::1',
          ports: { http: 9080, 'grpc-api': 9090, 'tcp-9100': 19100, web: 9200 },
          labels: {},
          locality: { region: 'r2' },
          health: 'unhealthy',
          origin: 'r1',
        },
        {
          address: 'reviews.example.com',
          ports: { http: 9080, 'grpc-api': 9090, 'tcp-9100': 19100, web: 9200 },
          labels: {},
          locality: { region: 'r3', subzone: 's3' },
          health: 'unhealthy',
          origin: 'r1',
        },
        {
          address: '10.0.0.4',
          ports: { http: 9080, 'grpc-api': 9090, 'tcp-9100': 19100, web: 9200 },
          labels: {},
          health: 'unknown',
          origin: 'r1',
        },
      ],
    },
  ]);
});

test('validate: defaultProtocol applies to ports without protocol or protocol-named name', () => {
  const doc = parseSource('services: [{name: a, ports: [{number: 1, name: db}]}]', FILE, 'yaml');
  const r = validateDocument(doc, { registry: 'r', file: FILE, defaultProtocol: 'HTTP2' });
  assert.equal(r.type === 'ok' ? r.services[0]?.ports[0]?.protocol : undefined, 'HTTP2');
});

test('validate: services: [] is a valid empty registry', () => {
  assert.deepEqual(check('services: []'), { services: [], problems: [] });
});

test('validate: a document that is not a registry file is invalid as a whole', () => {
  for (const text of ['services:', 'services: {a: 1}', '[1, 2]', 'just text', 'other: []']) {
    const r = validateDocument(parseSource(text, FILE, 'yaml'), { registry: 'r', file: FILE, defaultProtocol: 'TCP' });
    assert.equal(r.type, 'invalid', text);
    if (r.type === 'invalid') {
      assert.equal(r.error.code, ErrorCode.SOURCE_PARSE);
      assert.equal(r.error.path, 'reg.yaml: services');
    }
  }
});

test('validate: unknown top-level keys are reported and ignored', () => {
  assert.deepEqual(check('version: 2\nservices: []').problems, ['MB_ENTRY_INVALID reg.yaml: version']);
});

test('validate: hostile keys become own properties, never prototypes', () => {
  const doc = JSON.parse(
    '{"services":[{"name":"a","attributes":{"__proto__":"x"},"ports":[{"number":1,"name":"__proto__"}],' +
      '"instances":[{"address":"10.0.0.1","labels":{"__proto__":"y","constructor":"z"}}]}]}',
  ) as unknown;
  const r = validateDocument(doc, { registry: 'r', file: FILE, defaultProtocol: 'TCP' });
  assert.equal(r.type, 'ok');
  if (r.type !== 'ok') return;
  const s = r.services[0]!;
  const ep = s.endpoints[0]!;
  assert.deepEqual(Object.keys(s.attributes), ['__proto__']);
  assert.deepEqual(Object.keys(ep.labels), ['__proto__', 'constructor']);
  assert.deepEqual(Object.keys(ep.ports), ['__proto__']);
  assert.equal(Object.getPrototypeOf(ep.labels), Object.prototype);
});
