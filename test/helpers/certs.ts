// Throw-away TLS material for tests: a CA and a leaf certificate for 127.0.0.1 /
// localhost signed by it, made with the openssl command line in a temp directory.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCerts { readonly ca: string; readonly cert: string; readonly key: string; readonly otherCa: string }

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
}

function makeCa(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}-key.pem`);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
    '-days', '2', '-subj', `/CN=${name}`]);
  return { cert, key };
}

/** Files under `dir`: ca.pem (the cluster CA), cert.pem + key.pem (a node), other-ca.pem (an unrelated CA). */
export function makeTestCerts(dir: string): TestCerts {
  const ca = makeCa(dir, 'ca');
  const other = makeCa(dir, 'other-ca');
  const key = join(dir, 'key.pem');
  const csr = join(dir, 'node.csr');
  const cert = join(dir, 'cert.pem');
  const ext = join(dir, 'node.ext');
  writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=concord-node']);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', ext]);
  return { ca: ca.cert, cert, key, otherCa: other.cert };
}
