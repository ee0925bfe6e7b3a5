/**
 * TLS for SSL and SASL_SSL listeners and the HTTP endpoint (`http.ssl.*`) with node:tls: the keystore
 * and truststore as PEM (Kafka's `ssl.keystore.type=PEM`; where each comes from: src/config/tls-stores.ts),
 * `ssl.enabled.protocols`, the client-auth setting, and reloading: when the
 * keystore or truststore file changes, new connections get the new certificate while open ones keep
 * theirs (Kafka reloads the same way when its keystore is altered). A file that does not load keeps
 * the previous material and is logged; a broker never starts without material that loads.
 */
import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import tls from 'node:tls';
import type { TlsStores } from '../../config/tls-stores.js';
import type { Logger } from '../logger.js';

/** How often the keystore and truststore files are checked for changes (stat only). */
export const TLS_RELOAD_CHECK_MS = 1000;

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g;

function pemBlocks(text: string): { label: string; pem: string }[] {
  return [...text.matchAll(PEM_BLOCK)].map((m) => ({ label: m[1]!, pem: m[0] }));
}

/** Reads a PEM setting (file or inline) without ever putting its content in an error. */
function readPem(setting: string, location: string | null, inline: string | null): string {
  if (inline !== null) return inline;
  try {
    return readFileSync(location!, 'utf8');
  } catch (err) {
    throw new Error(`${setting}: cannot read ${location}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

export class TlsMaterial {
  private current: tls.SecureContextOptions;
  private readonly watched: string[] = [];
  private readonly reloaded: ((options: tls.SecureContextOptions) => void)[] = [];
  /** Times the material was reloaded (tests, diagnostics). */
  reloads = 0;

  constructor(
    private readonly stores: TlsStores,
    private readonly log: Logger,
  ) {
    this.current = this.build();
  }

  /** What new TLS connections are made with (tls.Server's secure context options). */
  get options(): tls.SecureContextOptions {
    return this.current;
  }

  /** Call `f` with the new options after each reload (the TLS servers' setSecureContext). */
  onReload(f: (options: tls.SecureContextOptions) => void): void {
    this.reloaded.push(f);
  }

  /** Client certificates: asked for unless the client auth setting is `none`; only `required` refuses a client without one. */
  get requestCert(): boolean {
    return this.stores.clientAuth !== 'none';
  }

  /** A client without a trusted certificate fails the handshake (`required`). */
  get rejectUnauthorized(): boolean {
    return this.stores.clientAuth === 'required';
  }

  /** The options, checked by building a context from them: what does not load throws here. */
  private build(): tls.SecureContextOptions {
    const { keystore: k, truststore: t } = this.stores;
    const inline = k.key === null ? null : `${k.key}\n${k.certificateChain}`;
    const keystore = readPem(`${k.prefix}.keystore.location`, k.location, inline);
    const blocks = pemBlocks(keystore);
    const keys = blocks.filter((b) => b.label.endsWith('PRIVATE KEY'));
    const certs = blocks.filter((b) => b.label === 'CERTIFICATE');
    const where = k.location ?? `${k.prefix}.keystore.key / ${k.prefix}.keystore.certificate.chain`;
    if (keys.length !== 1) throw new Error(`${k.prefix}.keystore: ${where} must hold exactly one private key (found ${keys.length})`);
    if (certs.length === 0) throw new Error(`${k.prefix}.keystore: ${where} holds no certificate`);
    let ca: string[] | undefined;
    if (t.location !== null || t.certificates !== null) {
      const trust = pemBlocks(readPem(`${t.prefix}.truststore.location`, t.location, t.certificates)).filter((b) => b.label === 'CERTIFICATE');
      if (trust.length === 0) throw new Error(`${t.prefix}.truststore: ${t.location ?? `${t.prefix}.truststore.certificates`} holds no certificate`);
      ca = trust.map((b) => b.pem);
    }
    const versions = [...this.stores.enabledProtocols].sort();
    const options: tls.SecureContextOptions = {
      key: keys[0]!.pem,
      ...(k.password !== null ? { passphrase: k.password } : {}),
      cert: certs.map((b) => b.pem).join('\n'),
      ...(ca ? { ca } : {}),
      minVersion: versions[0] as tls.SecureVersion,
      maxVersion: versions[versions.length - 1] as tls.SecureVersion,
    };
    try {
      tls.createSecureContext(options);
      return options;
    } catch (err) {
      // OpenSSL's reason (bad decrypt, key values mismatch), never the material itself.
      throw new Error(`${k.prefix}.keystore: ${where} does not load: ${(err as Error).message}`);
    }
  }

  /** Load the files again; on failure keep the current material. Returns whether it changed. */
  reload(): boolean {
    try {
      this.current = this.build();
      for (const f of this.reloaded) f(this.current);
      this.reloads++;
      this.log.info(`${this.stores.name}: keystore and truststore reloaded; new connections use them`);
      return true;
    } catch (err) {
      this.log.error(`${this.stores.name}: reload failed, keeping the previous certificate: ${(err as Error).message}`);
      return false;
    }
  }

  /** Reload whenever the keystore or truststore file changes. */
  watch(): void {
    for (const file of [this.stores.keystore.location, this.stores.truststore.location]) {
      if (file === null) continue;
      watchFile(file, { interval: TLS_RELOAD_CHECK_MS, persistent: false }, this.onChange);
      this.watched.push(file);
    }
  }

  private readonly onChange = (now: Stats, before: Stats): void => {
    if (now.mtimeMs !== before.mtimeMs || now.size !== before.size || now.ino !== before.ino) this.reload();
  };

  close(): void {
    for (const file of this.watched.splice(0)) unwatchFile(file, this.onChange);
  }
}

/**
 * The peer certificate's subject as Java's X500Principal.getName() writes it (RFC 2253: most
 * specific first, comma-separated), which `ssl.principal.mapping.rules` are written against.
 */
export function peerSubject(socket: tls.TLSSocket): string | null {
  const cert = socket.getPeerX509Certificate();
  if (!cert) return null;
  return cert.subject.split('\n').filter((l) => l !== '').reverse().join(',');
}
