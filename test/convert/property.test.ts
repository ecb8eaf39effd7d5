/**
 * Property tests (fast-check), 10,000 random and hostile inputs each (issue 10):
 * - every adapter's parsers never throw, whatever the bytes (they return a result or a coded error);
 * - a hostile file-registry document goes through validation, host naming, conversion and address
 *   planning without a crash, and every object published validates against Istio's real CRDs;
 * - valid neighbours of hostile services are still published by the pipeline.
 * Seeds are printed by fast-check on a failure (rerun with that seed to reproduce).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { convert, hostFor, toManifest, type ConversionOptions } from '../../src/convert/index.js';
import { AddressMode, claimOf, withAddresses } from '../../src/convert/addresses.js';
import { baseOptions, inputOf } from '../../src/convert/testing/fixtures.js';
import { AddressIndex } from '../../src/core/address-index.js';
import { VipPool } from '../../src/core/vip-pool.js';
import { DEFAULT_VIP_CIDR, Pipeline } from '../../src/core/pipeline.js';
import { MeshbridgeError } from '../../src/errors/index.js';
import { serviceKey, type Service } from '../../src/model/index.js';
import { Metrics, silentLogger } from '../../src/observability/index.js';
import { validateDocument } from '../../src/registry/file/index.js';
import { parseDubboUrl } from '../../src/registry/zookeeper/dubbo-url.js';
import { parseProviderNode } from '../../src/registry/zookeeper/providers.js';
import { parseCuratorInstance } from '../../src/registry/zookeeper/curator-instance.js';
import { parseInstance } from '../../src/registry/etcd/instance.js';
import { serviceFromHealth as consulService, HealthFilter } from '../../src/registry/consul/entries.js';
import { TagsAsLabels } from '../../src/registry/consul/labels.js';
import { parseApplications } from '../../src/registry/eureka/wire.js';
import { parseServiceKey } from '../../src/registry/nacos/map.js';
import { FakeRegistry, svc } from '../../src/registry/testing/fake-registry.js';
import { SnapshotStore } from '../../src/snapshot/index.js';
import { crdSkip, crdValidator } from '../../test-support/crd-validator.js';

const RUNS = 10_000;
const skip = crdSkip();

/** Strings that hurt: control characters, unicode, separators, long runs, numbers as text. */
const hostile = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', ' ', '..', '-', 'a'.repeat(300), '😀', '\u0000', '../../etc', '%zz', 'null', '0', '-1', '65536', '1e9', '::1', '10.0.0.1', 'http://x:1/y?z=%', '*.x', 'A_B'),
  fc.stringMatching(/^[a-z0-9.:%/?=&_-]{0,60}$/),
);
/** JSON-ish values of any shape. */
const anything = fc.jsonValue({ maxDepth: 4 }).map((v) => v as unknown);

/** Runs a parser: it may return anything, or throw a coded MeshbridgeError (its contract), nothing else. */
function coded(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof MeshbridgeError)) throw e;
  }
}

test('adapter parsers never crash on random or hostile input (a result, or a coded error)', () => {
  const curator = { defaultProtocol: 'dubbo' };
  const consul = { registry: 'c', datacenter: 'dc1', healthFilter: HealthFilter.PASSING, defaultProtocol: 'TCP' as const, tagsAsLabels: TagsAsLabels.PREFIX, tagPrefix: 'tag-', nodeMetaPrefix: 'node-' };
  fc.assert(
    fc.property(hostile, anything, fc.uint8Array({ maxLength: 200 }), (text, value, bytes) => {
      coded(() => parseDubboUrl(text));
      coded(() => parseDubboUrl(encodeURIComponent(`dubbo://${text}:20880/${text}?${text}=${text}`)));
      coded(() => parseProviderNode(text));
      coded(() => parseCuratorInstance(Buffer.from(bytes), curator));
      coded(() => parseCuratorInstance(JSON.stringify(value), curator));
      coded(() => parseInstance({ registry: 'e', key: `/k/${text}`, modRevision: 1, match: { service: text, instance: text, attributes: {} }, value: bytes }));
      coded(() => parseInstance({ registry: 'e', key: '/k/s/i', modRevision: 1, match: { service: 's', instance: 'i', attributes: {} }, value: Buffer.from(JSON.stringify(value)) }));
      coded(() => consulService(text, value, consul));
      coded(() => consulService('web', [{ Service: { Service: 'web', Address: text, Port: value, Tags: [text], Meta: { [text]: text } }, Node: { Address: text }, Checks: value }], consul));
      coded(() => parseApplications(value, 'x'));
      coded(() => parseApplications({ applications: { application: [{ name: text, instance: value }] } }, 'x'));
      coded(() => parseServiceKey(value));
      coded(() => parseServiceKey(text));
    }),
    { numRuns: RUNS },
  );
});

/** A file-registry document shaped like the real thing, with hostile values anywhere. */
const fileDoc = fc.record({
  services: fc.array(
    fc.record(
      {
        name: fc.oneof(fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/), hostile),
        namespace: fc.oneof(fc.constant(undefined), fc.stringMatching(/^[a-z]{1,8}$/), hostile),
        ports: fc.array(
          fc.record({ number: fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.integer(), anything), name: fc.oneof(fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/), hostile), protocol: fc.oneof(fc.constantFrom('HTTP', 'TCP', 'GRPC', 'HTTP2', 'tcp', 'REDIS'), hostile) }, { requiredKeys: [] }),
          { maxLength: 4 },
        ),
        instances: fc.array(
          fc.record(
            {
              address: fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain(), hostile),
              weight: fc.oneof(fc.integer({ min: 0, max: 200 }), anything),
              labels: fc.dictionary(fc.oneof(fc.stringMatching(/^[a-z]{1,6}$/), hostile), fc.oneof(fc.stringMatching(/^[a-z0-9]{0,6}$/), hostile), { maxKeys: 4 }),
              locality: fc.oneof(fc.constant(undefined), fc.constantFrom('r1/z1', 'r1/z1/s1'), hostile),
            },
            { requiredKeys: [] },
          ),
          { maxLength: 5 },
        ),
      },
      { requiredKeys: ['name'] },
    ),
    { maxLength: 6 },
  ),
});

const optionsArb = fc.record({
  form: fc.constantFrom('inline', 'workloadEntry'),
  addresses: fc.constantFrom(AddressMode.PROVIDERS, AddressMode.VIP, AddressMode.NONE),
  includeUnhealthy: fc.boolean(),
});

test('hostile file documents: no crash, and everything published validates against Istio\'s CRDs', { skip }, () => {
  const validate = crdValidator();
  let published = 0;
  fc.assert(
    fc.property(fileDoc, optionsArb, (doc, o) => {
      const res = validateDocument(JSON.parse(JSON.stringify(doc)) as unknown, { registry: 'prop', file: 'prop.yaml', defaultProtocol: 'TCP' });
      if (res.type !== 'ok') return;
      const options: ConversionOptions = { ...baseOptions, form: o.form, includeUnhealthy: o.includeUnhealthy, hostTemplate: '{name}.{namespace}.prop.local' };
      const ix = new AddressIndex(new VipPool(DEFAULT_VIP_CIDR));
      const byHost = new Map<string, Service>();
      for (const s of res.services) {
        let host: string;
        try {
          host = hostFor(s, options);
        } catch (e) {
          assert.ok(e instanceof MeshbridgeError, `hostFor throws only coded errors: ${String(e)}`);
          continue;
        }
        if (!byHost.has(host)) byHost.set(host, s);
      }
      const converted = [...byHost].map(([host, s]) => [host, convert(inputOf(s, host), options).resources] as const);
      for (const [host, rs] of converted) ix.update(host, o.addresses === AddressMode.NONE ? undefined : claimOf(host, rs), o.addresses);
      ix.settle();
      const all = [...converted.flatMap(([host, rs]) => withAddresses(rs, ix.addressesOf(host))), ...ix.sharedResources()];
      const manifests = all.map(toManifest);
      published += manifests.length;
      const errors = validate(manifests);
      assert.deepEqual(errors, [], JSON.stringify(doc).slice(0, 2000));
    }),
    { numRuns: RUNS },
  );
  assert.ok(published > RUNS / 4, `objects checked: ${published}`);
});

test('hostile services never take their valid neighbours out of the snapshot', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(hostile, hostile, fc.integer()), { minLength: 1, maxLength: 5 }), async (bad) => {
      const good = [svc('r', 'good-a', ['10.0.0.1']), svc('r', 'good-b', ['10.0.0.2'])];
      const evil: Service[] = bad.map(([name, address, port], i) => ({
        ...svc('r', `${name}${i}`, [address]),
        ports: [{ number: port, name: name === '' ? 'p' : name, protocol: 'TCP' as const }],
      }));
      const reg = new FakeRegistry('r', [...good, ...evil]);
      const store = new SnapshotStore();
      const p = new Pipeline({
        registries: [reg],
        conversion: new Map([['r', { ...baseOptions, hostTemplate: '{name}.prop.local', addresses: AddressMode.PROVIDERS }]]),
        protectPercent: new Map(),
        conflictPolicy: 'merge',
        debounce: { quietPeriodMs: 1, maxDelayMs: 10 },
        store,
        metrics: new Metrics(),
        logger: silentLogger(),
        hostFor,
        convert,
      });
      const ac = new AbortController();
      await p.start(ac.signal);
      const hosts = new Set([...(store.current()?.kinds.get('ServiceEntry')?.resources.values() ?? [])].map((r) => (r.spec['hosts'] as string[])[0]));
      ac.abort();
      for (const g of good) assert.ok(hosts.has(`${g.name}.prop.local`), `${serviceKey(g)} published next to ${JSON.stringify(bad)}`);
    }),
    { numRuns: 500 },
  );
});
