import { SnapshotStore, resourceKey, type IstioResource, type ResourceKind, type Snapshot } from '../../snapshot/index.js';
import { hashOf } from '../../util/hash.js';

/** Test fixtures for the render sink (not part of its public surface). */

export function resource(kind: ResourceKind, namespace: string, name: string, spec: Record<string, unknown>, extraLabels: Record<string, string> = {}): IstioResource {
  const labels = { 'meshbridge.io/registry': 'zk', 'app.kubernetes.io/managed-by': 'meshbridge', ...extraLabels };
  const version = hashOf({ labels, spec });
  return { kind, namespace, name, key: resourceKey(kind, namespace, name), labels, annotations: { 'meshbridge.io/content-hash': version }, spec, version };
}

export function serviceEntry(namespace: string, name: string, address = '10.0.0.1'): IstioResource {
  return resource('ServiceEntry', namespace, name, {
    hosts: [`${name}.${namespace}.local`],
    ports: [{ number: 8080, name: 'http', protocol: 'HTTP' }],
    resolution: 'STATIC',
    endpoints: [{ address, labels: { version: '1.0', canary: 'true' } }],
  });
}

export function workloadEntry(namespace: string, name: string): IstioResource {
  return resource('WorkloadEntry', namespace, name, { address: '10.0.0.2', labels: { app: name } });
}

export function snapshotOf(resources: readonly IstioResource[]): Snapshot {
  const s = new SnapshotStore().publish(resources);
  if (s === undefined) throw new Error('unreachable: a first publish always gives a snapshot');
  return s;
}
