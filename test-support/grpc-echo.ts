/**
 * A tiny gRPC service for the proxyless-gRPC tests: real @grpc/grpc-js servers that answer the
 * unary method /meshbridge.test.Echo/Who with their own identity, and a client for it over any
 * target (an `xds:///host:port` target needs @grpc/grpc-js-xds registered first). The service
 * definition is hand-written: request and reply are raw bytes (the reply is the identity as
 * UTF-8), so no .proto file is involved.
 */
import * as grpc from '@grpc/grpc-js';

export const WHO_PATH = '/meshbridge.test.Echo/Who';

const bytes = (b: Buffer): Buffer => b;

const definition: grpc.ServiceDefinition = {
  Who: {
    path: WHO_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: bytes,
    requestDeserialize: bytes,
    responseSerialize: bytes,
    responseDeserialize: bytes,
    originalName: 'who',
  },
};

export interface EchoServer {
  readonly identity: string;
  /** host:port the server listens on (plaintext). */
  readonly address: string;
  /** Calls this server answered so far. */
  calls(): number;
  stop(): Promise<void>;
}

/** Starts one server on `host:port` (e.g. 127.0.0.21:P; Linux routes all of 127/8 to lo). */
export async function startEchoServer(options: { readonly identity: string; readonly host: string; readonly port: number }): Promise<EchoServer> {
  const server = new grpc.Server();
  let calls = 0;
  const who: grpc.handleUnaryCall<Buffer, Buffer> = (_call, callback) => {
    calls++;
    callback(null, Buffer.from(options.identity, 'utf8'));
  };
  server.addService(definition, { Who: who });
  const address = `${options.host}:${options.port}`;
  await new Promise<number>((resolve, reject) =>
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (e, port) => (e === null ? resolve(port) : reject(e))),
  );
  return {
    identity: options.identity,
    address,
    calls: () => calls,
    stop: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        // a client holding a connection open must not keep the test waiting
        setTimeout(() => server.forceShutdown(), 2000).unref();
      }),
  };
}

export interface EchoClient {
  readonly target: string;
  /** One call (waitForReady, so it waits out resolution); resolves with the replying identity. */
  who(deadlineMs?: number): Promise<string>;
  close(): void;
}

/**
 * A plaintext client of `target` (`xds:///host:port`, or `host:port` for a direct channel);
 * `options` are channel options (e.g. `grpc.default_authority`: the :authority a proxy routes by).
 */
export function echoClient(target: string, options?: grpc.ChannelOptions): EchoClient {
  const client = new grpc.Client(target, grpc.credentials.createInsecure(), options);
  return {
    target,
    who: (deadlineMs = 10_000) =>
      new Promise<string>((resolve, reject) => {
        const metadata = new grpc.Metadata({ waitForReady: true });
        client.makeUnaryRequest(WHO_PATH, bytes, bytes, Buffer.alloc(0), metadata, { deadline: Date.now() + deadlineMs }, (e, reply) => {
          if (e !== null) reject(e);
          else if (reply === undefined) reject(new Error(`${target}: empty reply`));
          else resolve(reply.toString('utf8'));
        });
      }),
    close: () => client.close(),
  };
}

/** Identity -> number of replies, over `n` sequential calls. */
export async function tally(client: EchoClient, n: number, deadlineMs?: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const who = await client.who(deadlineMs);
    out.set(who, (out.get(who) ?? 0) + 1);
  }
  return out;
}
