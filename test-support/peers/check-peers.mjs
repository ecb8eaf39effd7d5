#!/usr/bin/env node
// Checks the peers end to end, by hand or in CI after build-peers.sh:
//   node test-support/peers/check-peers.mjs [etcd|kube|istiod-k8s|istiod-mcp|all]...   (default: all)
// etcd: start, put/get. kube: kube-apiserver (AlwaysAllow and RBAC), Istio CRDs, a namespace and
// a networking.istio.io/v1 ServiceEntry written and read back, a ServiceEntry with both
// workloadSelector and endpoints refused (422, CEL rule). istiod-k8s: istiod against that API
// server lists the ServiceEntry host in /debug/registryz. istiod-mcp: istiod pointed at a closed
// xDS port (no MCP server), without Kubernetes and then with it (hybrid): reports what it does.
// Every peer started is checked to bind and dial loopback only. Exits non-zero on the first failed
// check (istiod-mcp only reports).
import assert from 'node:assert/strict';
import {
  startEtcd, startKubeApiserver, applyIstioCrds, startIstiod, kubeRequest, ensureNamespace,
  httpRequest, peerVersions, nonLoopbackSockets, istiodDebug, startEmptyMcpServer,
} from './peers.mjs';

const want = new Set(process.argv.slice(2).length ? process.argv.slice(2) : ['all']);
const on = (k) => want.has('all') || want.has(k);
const t0 = Date.now();
const log = (msg) => console.log(`[check ${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const stops = [];
process.on('unhandledRejection', (e) => { console.error(e); process.exitCode = 1; });

const HOST = 'orders.demo.meshbridge.test';
const serviceEntry = (name, spec) => ({
  apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name, namespace: 'demo' }, spec,
});

async function main() {
  log(`versions: ${JSON.stringify(peerVersions())}`);
  if (on('etcd')) {
    const e = await startEtcd();
    stops.push(e.stop);
    const b64 = (s) => Buffer.from(s).toString('base64');
    const put = await httpRequest(`${e.endpoint}/v3/kv/put`, { method: 'POST', body: JSON.stringify({ key: b64('k'), value: b64('v') }) });
    assert.equal(put.status, 200);
    const got = JSON.parse((await httpRequest(`${e.endpoint}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: b64('k') }) })).text);
    assert.equal(Buffer.from(got.kvs[0].value, 'base64').toString(), 'v');
    log(`etcd ok at ${e.endpoint}: ${(await httpRequest(`${e.endpoint}/version`)).text}`);
    assert.deepEqual(nonLoopbackSockets(e.pid), [], 'etcd keeps to loopback');
    await e.stop();
  }
  let api;
  if (on('kube') || on('istiod-k8s')) {
    let t = Date.now();
    api = await startKubeApiserver({ authorization: 'AlwaysAllow' });
    stops.push(api.stop);
    log(`kube-apiserver ready in ${Date.now() - t} ms at ${api.url} (etcd ${api.etcd.endpoint})`);
    const version = await kubeRequest(api, 'GET', '/version');
    log(`/version: ${version.body.gitVersion}`);
    assert.deepEqual(nonLoopbackSockets(api.pid), [], 'kube-apiserver keeps to loopback');
    assert.deepEqual(nonLoopbackSockets(api.etcd.pid), [], 'its etcd keeps to loopback');
    const anon = await httpRequest(`${api.url}/api/v1/namespaces`, { ca: api.ca });
    assert.equal(anon.status, 401, 'anonymous requests are refused');
    t = Date.now();
    const crds = await applyIstioCrds(api);
    log(`${crds.length} Istio CRDs Established in ${Date.now() - t} ms`);
    await ensureNamespace(api, 'demo');
    const base = '/apis/networking.istio.io/v1/namespaces/demo/serviceentries';
    const created = await kubeRequest(api, 'POST', base, serviceEntry('orders', {
      hosts: [HOST], location: 'MESH_INTERNAL', resolution: 'STATIC',
      ports: [{ number: 8080, name: 'http', protocol: 'HTTP' }],
      endpoints: [{ address: '127.0.0.2', labels: { app: 'orders' } }],
    }));
    assert.equal(created.status, 201, created.text);
    const read = await kubeRequest(api, 'GET', `${base}/orders`);
    assert.equal(read.status, 200, read.text);
    assert.deepEqual(read.body.spec.hosts, [HOST]);
    const old = await kubeRequest(api, 'GET', '/apis/networking.istio.io/v1alpha3/namespaces/demo/serviceentries/orders');
    assert.equal(old.status, 200, 'the same object is served as v1alpha3');
    log('ServiceEntry created (v1) and read back (v1, v1alpha3)');
    const bad = await kubeRequest(api, 'POST', base, serviceEntry('bad', {
      hosts: ['bad.demo.meshbridge.test'], resolution: 'STATIC',
      ports: [{ number: 80, name: 'http', protocol: 'HTTP' }],
      workloadSelector: { labels: { app: 'bad' } },
      endpoints: [{ address: '127.0.0.3' }],
    }));
    assert.equal(bad.status, 422, bad.text);
    log(`invalid ServiceEntry refused: 422 ${bad.body?.message}`);

    const rbac = await startKubeApiserver({ authorization: 'RBAC', etcd: { endpoint: api.etcd.endpoint } });
    stops.push(rbac.stop);
    const asLimited = await kubeRequest(rbac, 'GET', '/api/v1/namespaces', undefined, { token: rbac.limitedUser.token });
    assert.equal(asLimited.status, 403, asLimited.text);
    const asAdmin = await kubeRequest(rbac, 'GET', '/api/v1/namespaces');
    assert.equal(asAdmin.status, 200, asAdmin.text);
    log('RBAC API server (same etcd, own prefix): admin 200, limited user 403');
    await rbac.stop();
  }
  if (on('istiod-k8s')) {
    const t = Date.now();
    const istiod = await startIstiod({ mode: 'kubernetes', kubeconfig: api.kubeconfigPath });
    stops.push(istiod.stop);
    log(`istiod (Kubernetes) ready in ${Date.now() - t} ms; debug ${istiod.httpUrl}`);
    let found = false;
    const deadline = Date.now() + 60000;
    while (!found && Date.now() < deadline) {
      const r = await httpRequest(`${istiod.httpUrl}/debug/registryz`);
      found = r.status === 200 && r.text.includes(HOST);
      if (!found) await sleep(500);
    }
    assert.ok(found, `registryz lists ${HOST}\n${istiod.logTail(40)}`);
    log(`istiod /debug/registryz lists ${HOST} after ${Date.now() - t} ms`);
    const configz = await istiodDebug(istiod, 'configz');
    assert.ok(configz.some((c) => c.kind === 'ServiceEntry' && (c.metadata?.name ?? c.name) === 'orders'), 'configz shows the ServiceEntry');
    assert.deepEqual(nonLoopbackSockets(istiod.pid), [], 'istiod keeps to loopback');
    log('istiod keeps to loopback: listening and connected sockets all on 127.0.0.1');
    await istiod.stop();
  }
  if (on('istiod-mcp')) {
    // Kubernetes-free, then hybrid (services from the API server, config only from MCP).
    const variants = [['kubernetes-free', {}]];
    if (api) variants.push(['hybrid', { kubeconfig: api.kubeconfigPath, api }]);
    const mcp = await startEmptyMcpServer();
    stops.push(mcp.stop);
    for (const [label, extra] of variants) {
      const t = Date.now();
      let istiod;
      try {
        istiod = await startIstiod({ mode: 'mcp', xdsAddress: mcp.address, ...extra, waitReady: false, timeoutMs: 30000, logLevel: 'default:info,adsc:debug' });
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        const panic = /panic: .*|SIGSEGV.*|nil pointer dereference.*/.exec(msg);
        log(`istiod (MCP ${label}) did not come up: ${msg.split('\n')[0]}${panic ? ` [${panic[0]}]` : ''}`);
        continue;
      }
      stops.push(istiod.stop);
      log(`istiod (MCP ${label}, empty MCP server ${mcp.address}) HTTP up in ${Date.now() - t} ms; ${new Set(mcp.requests.map((r) => r.typeUrl)).size} types requested`);
      for (let i = 0; i < 3; i++) {
        await sleep(5000);
        const ready = istiod.running() ? (await httpRequest(`${istiod.httpUrl}/ready`).catch((e) => ({ status: e.message }))).status : 'exited';
        log(`  +${(Date.now() - t) / 1000}s running=${istiod.running()} /ready=${ready}`);
      }
      if (istiod.running()) log(`  off-loopback sockets: ${JSON.stringify(nonLoopbackSockets(istiod.pid))}`);
      console.log(istiod.logTail(15));
      await istiod.stop();
    }
  }
}

try {
  await main();
  log('all checks passed');
} catch (e) {
  console.error(e);
  process.exitCode = 1;
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => {});
}
