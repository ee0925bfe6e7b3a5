/**
 * Certificates for the TLS tests, made at test time with the `openssl` CLI in a temporary directory
 * (no key is ever committed): a CA, a server certificate for 127.0.0.1/localhost signed by it, a
 * client certificate signed by it, and a second CA with a client certificate of its own (which the
 * broker must refuse). EC P-256 keys: quick to make.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, type ExternalClient } from './external.js';

let opensslCache: ExternalClient | undefined;

/** The `openssl` CLI (Debian package openssl). */
export function findOpenssl(): ExternalClient {
  if (opensslCache) return opensslCache;
  const r = spawnSync('openssl', ['version'], { encoding: 'utf8', timeout: 10_000 });
  const missing = r.error || r.status !== 0 ? 'openssl not found on PATH: install the Debian package openssl (apt-get install openssl)' : null;
  opensslCache = { name: 'openssl', command: 'openssl', version: missing ? null : r.stdout.trim(), missing };
  return opensslCache;
}

export interface Pki {
  readonly dir: string;
  /** PEM file of the trusted CA. */
  readonly caFile: string;
  readonly caPem: string;
  /** The server's key and certificate in one PEM file (ssl.keystore.location). */
  readonly serverKeystore: string;
  readonly serverKeyPem: string;
  readonly serverCertPem: string;
  /** Client certificate (subject O=acme, OU=eng, CN=app-1) signed by the CA. */
  readonly clientKeyFile: string;
  readonly clientCertFile: string;
  readonly clientKeyPem: string;
  readonly clientCertPem: string;
  /** Client certificate signed by another CA. */
  readonly strangerKeyPem: string;
  readonly strangerCertPem: string;
  readonly strangerKeyFile: string;
  readonly strangerCertFile: string;
  /** A fresh server certificate (another CN) in a keystore file of its own, for reload tests. */
  newServerKeystore(cn: string): Promise<string>;
  /**
   * A broker's keystore whose certificate (subject CN=`cn`, for 127.0.0.1/localhost) also serves as
   * a client certificate (extended key usage serverAuth and clientAuth), as brokers talking to each
   * other over mTLS present theirs.
   */
  newBrokerKeystore(cn: string): Promise<string>;
  cleanup(): Promise<void>;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir, timeoutMs: 30_000 });
}

async function key(dir: string, name: string): Promise<void> {
  await openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`]);
}

async function ca(dir: string, name: string, cn: string): Promise<void> {
  await key(dir, name);
  await openssl(dir, [
    'req', '-x509', '-new', '-key', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${cn}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

async function signed(dir: string, name: string, caName: string, subject: string, ext: string): Promise<void> {
  await key(dir, name);
  await openssl(dir, ['req', '-new', '-key', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
  await writeFile(join(dir, `${name}.ext`), ext);
  await openssl(dir, [
    'x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.pem`, '-CAkey', `${caName}.key`, '-CAcreateserial',
    '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`,
  ]);
}

const SERVER_EXT = 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n';
const CLIENT_EXT = 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n';
const BROKER_EXT = 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature\n';

export async function makePki(): Promise<Pki> {
  const dir = await mkdtemp(join(tmpdir(), 'rafka-pki-'));
  await ca(dir, 'ca', 'Rafka Test CA');
  await ca(dir, 'other-ca', 'Some Other CA');
  await signed(dir, 'server', 'ca', '/CN=localhost', SERVER_EXT);
  await signed(dir, 'client', 'ca', '/O=acme/OU=eng/CN=app-1', CLIENT_EXT);
  await signed(dir, 'stranger', 'other-ca', '/O=acme/OU=eng/CN=app-1', CLIENT_EXT);
  const read = (f: string) => readFile(join(dir, f), 'utf8');
  const serverKeyPem = await read('server.key');
  const serverCertPem = await read('server.pem');
  const serverKeystore = join(dir, 'server-keystore.pem');
  await writeFile(serverKeystore, serverKeyPem + serverCertPem);
  let n = 0;
  const keystore = async (name: string, cn: string, ext: string) => {
    await signed(dir, name, 'ca', `/CN=${cn}`, ext);
    const file = join(dir, `${name}-keystore.pem`);
    await writeFile(file, (await read(`${name}.key`)) + (await read(`${name}.pem`)));
    return file;
  };
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    caPem: await read('ca.pem'),
    serverKeystore,
    serverKeyPem,
    serverCertPem,
    clientKeyFile: join(dir, 'client.key'),
    clientCertFile: join(dir, 'client.pem'),
    clientKeyPem: await read('client.key'),
    clientCertPem: await read('client.pem'),
    strangerKeyFile: join(dir, 'stranger.key'),
    strangerCertFile: join(dir, 'stranger.pem'),
    strangerKeyPem: await read('stranger.key'),
    strangerCertPem: await read('stranger.pem'),
    newServerKeystore: (cn: string) => keystore(`server-${++n}`, cn, SERVER_EXT),
    newBrokerKeystore: (cn: string) => keystore(`broker-${++n}`, cn, BROKER_EXT),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
