import { ErrorCode, MeshbridgeError, describeError } from '../../errors/index.js';
import { messageType, ProtoName } from '../../proto/index.js';
import { resourceKey, ResourceKind, type IstioResource } from '../../snapshot/index.js';
import { encodeBody } from './spec-encoding.js';
import { decodeDiscoveryRequest } from './messages.js';

/**
 * Proves, before the server listens, that this install can decode istiod's requests and encode
 * its responses: the .proto files are found and load, a DiscoveryRequest round-trips, and a
 * ServiceEntry and a WorkloadEntry encode. Without this an install missing src/proto next to
 * dist/ listened, reported ready, and failed every request ("Error deserializing request" in
 * istiod, which then never became ready).
 *
 * Contract: returns nothing when the codec works; throws MeshbridgeError XDS_PROTO naming the
 * step that failed otherwise. Synchronous, no network; loads the protos once per process.
 */
export function verifyCodec(): void {
  let step = 'load the .proto files';
  try {
    const req = messageType(ProtoName.DiscoveryRequest);
    step = 'round-trip a DiscoveryRequest';
    const bytes = req.encode(req.fromObject({ typeUrl: 'networking.istio.io/v1/ServiceEntry', responseNonce: 'n', node: { id: 'check' } })).finish();
    const back = decodeDiscoveryRequest(Buffer.from(bytes));
    if (back.typeUrl !== 'networking.istio.io/v1/ServiceEntry' || back.node?.id !== 'check') {
      throw new Error(`decoded ${JSON.stringify(back)}`);
    }
    step = 'encode a ServiceEntry, a WorkloadEntry and a Sidecar';
    encodeBody(sample(ResourceKind.ServiceEntry, {
      hosts: ['check.meshbridge.internal'],
      ports: [{ number: 80, name: 'http', protocol: 'HTTP' }],
      resolution: 'STATIC',
      endpoints: [{ address: '127.0.0.1', ports: { http: 80 } }],
    }));
    encodeBody(sample(ResourceKind.WorkloadEntry, { address: '127.0.0.1', labels: { app: 'check' } }));
    encodeBody(sample(ResourceKind.Sidecar, { workloadSelector: { labels: { app: 'check' } }, egress: [{ hosts: ['istio-system/*'] }] }));
  } catch (e) {
    throw new MeshbridgeError(ErrorCode.XDS_PROTO, `the xDS codec does not work (${step}): ${describeError(e)}`, { cause: e });
  }
}

function sample(kind: ResourceKind, spec: Record<string, unknown>): IstioResource {
  return { kind, namespace: 'check', name: 'check', key: resourceKey(kind, 'check', 'check'), labels: {}, annotations: {}, spec, version: 'check' };
}
