/**
 * Throw-away TLS material for peers that serve TLS with client certificates: a CA, a 127.0.0.1
 * server certificate and a client certificate, made with the openssl CLI.
 */
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface TlsFiles {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** Client certificate signed by the same CA. */
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
}

/** Creates a CA, a 127.0.0.1 server certificate and a client certificate with openssl. */
export async function makeCerts(dir: string): Promise<TlsFiles> {
  const f = (n: string) => join(dir, n);
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=meshbridge-test-ca', '-keyout', f('ca.key'), '-out', f('ca.crt'));
  await writeFile(f('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  await writeFile(f('client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const who of ['server', 'client']) {
    // No CN on the client certificate: with auth on, etcd would take a CN for the user name, and
    // its JSON gateway refuses requests from certificates with a CN.
    run('req', '-newkey', 'rsa:2048', '-nodes', '-subj', who === 'server' ? '/CN=server' : '/O=meshbridge-test-client', '-keyout', f(`${who}.key`), '-out', f(`${who}.csr`));
    run('x509', '-req', '-in', f(`${who}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', f(`${who}.ext`), '-out', f(`${who}.crt`));
  }
  return { caFile: f('ca.crt'), certFile: f('server.crt'), keyFile: f('server.key'), clientCertFile: f('client.crt'), clientKeyFile: f('client.key') };
}

