import { Protocol } from '../../model/index.js';

/** How one Dubbo (or Curator) protocol becomes a service port: its name and Istio protocol. */
export interface PortKind {
  readonly name: string;
  readonly protocol: Protocol;
}

/**
 * Dubbo protocol -> Istio port. `dubbo` is Dubbo's own binary protocol over TCP (`tcp-dubbo`, the
 * name Aeraki's dubbo2istio uses); `tri` (Triple) is gRPC-compatible HTTP/2 (`grpc-tri`). Other
 * protocols keep their name behind the Istio protocol's prefix, so names stay unique per service.
 */
const KNOWN: ReadonlyMap<string, PortKind> = new Map([
  ['dubbo', { name: 'tcp-dubbo', protocol: Protocol.TCP }],
  ['tri', { name: 'grpc-tri', protocol: Protocol.GRPC }],
  ['grpc', { name: 'grpc', protocol: Protocol.GRPC }],
  ['rest', { name: 'http-rest', protocol: Protocol.HTTP }],
  ['http', { name: 'http', protocol: Protocol.HTTP }],
  ['https', { name: 'https', protocol: Protocol.HTTPS }],
  ['h2', { name: 'http2', protocol: Protocol.HTTP2 }],
]);

export function portKind(protocol: string): PortKind {
  const p = protocol.toLowerCase();
  const known = KNOWN.get(p);
  if (known !== undefined) return known;
  const safe = p.replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '') || 'unknown';
  return { name: `tcp-${safe}`, protocol: Protocol.TCP };
}
