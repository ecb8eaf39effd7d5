/**
 * A stand-in for the SDS half of pilot-agent (istio-agent), written from Envoy's SDS API
 * (envoy.service.secret.v3.SecretDiscoveryService): the secrets `default` (the workload's
 * certificate and key) and `ROOTCA` (the mesh's root) that istiod's clusters name in their
 * `tlsMode-istio` transport socket, over a plaintext gRPC port on 127.0.0.1 instead of the
 * agent's Unix socket. The certificates are throw-away ones from tls.ts.
 *
 * Why: with auto mTLS on (Istio's default), every outbound cluster istiod sends carries that
 * transport socket, with an SDS initial fetch timeout of 0 (wait forever), so Envoy keeps every
 * such cluster warming, and builds no listener, until both secrets arrive. pilot-agent's other
 * halves (the xDS proxy, DNS, the certificate signing request to istiod) are not needed: Envoy
 * talks to istiod's plaintext port directly.
 *
 * Contract: answers each request naming secrets with every named secret it holds, once per
 * change of the names; ACKs and NACKs (a request carrying the last response's nonce and the same
 * names) get no answer. Unknown names are left out of the answer (Envoy keeps waiting for them).
 */
import { readFile } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { XDS_INCLUDE_DIRS, xdsRoot } from '../dataplane/protos.js';
import { makeCerts } from '../tls.js';

const SECRET_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';

export interface SecretServer {
  /** 127.0.0.1:P */
  readonly address: string;
  readonly port: number;
  /** Secret names requested so far, in order of first request. */
  readonly requested: readonly string[];
  stop(): Promise<void>;
}

interface SdsRequest {
  readonly version_info: string;
  readonly resource_names: readonly string[];
  readonly response_nonce: string;
  readonly type_url: string;
}

function loadService(): grpc.ServiceDefinition {
  const def = protoLoader.loadSync('envoy/service/secret/v3/sds.proto', {
    keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [...XDS_INCLUDE_DIRS],
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    envoy: { service: { secret: { v3: { SecretDiscoveryService: grpc.ServiceClientConstructor } } } };
  };
  return pkg.envoy.service.secret.v3.SecretDiscoveryService.service;
}

/** Makes throw-away certificates in `dir` and serves them as `default` and `ROOTCA` on 127.0.0.1:0. */
export async function startSecretServer(dir: string): Promise<SecretServer> {
  const files = await makeCerts(dir);
  const [ca, cert, key] = await Promise.all([files.caFile, files.certFile, files.keyFile].map((f) => readFile(f, 'utf8')));
  const Secret = xdsRoot().lookupType('envoy.extensions.transport_sockets.tls.v3.Secret');
  const secrets = new Map<string, Uint8Array>([
    ['default', Secret.encode(Secret.fromObject({ name: 'default', tls_certificate: { certificate_chain: { inline_string: cert }, private_key: { inline_string: key } } })).finish()],
    ['ROOTCA', Secret.encode(Secret.fromObject({ name: 'ROOTCA', validation_context: { trusted_ca: { inline_string: ca } } })).finish()],
  ]);
  const requested: string[] = [];
  const server = new grpc.Server();
  let nonce = 0;
  server.addService(loadService(), {
    StreamSecrets: (call: grpc.ServerDuplexStream<SdsRequest, unknown>) => {
      let last: { nonce: string; names: string } | undefined;
      call.on('data', (req: SdsRequest) => {
        const names = [...req.resource_names].sort().join(',');
        for (const n of req.resource_names) if (!requested.includes(n)) requested.push(n);
        // An ACK or a NACK of what we sent: nothing new to say.
        if (last !== undefined && req.response_nonce === last.nonce && names === last.names) return;
        const resources = req.resource_names.flatMap((n) => {
          const value = secrets.get(n);
          return value === undefined ? [] : [{ type_url: SECRET_TYPE, value: Buffer.from(value) }];
        });
        last = { nonce: String(++nonce), names };
        call.write({ version_info: '1', type_url: SECRET_TYPE, nonce: last.nonce, resources });
      });
      call.on('error', () => undefined);
      call.on('end', () => call.end());
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  return {
    address: `127.0.0.1:${port}`,
    port,
    requested,
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}
