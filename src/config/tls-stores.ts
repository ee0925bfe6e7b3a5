/**
 * Where a TLS server's PEM keystore and truststore come from, with the names of the settings that gave
 * them (every error names the setting to fix): the Kafka listeners' `ssl.*`, or the HTTP endpoint's
 * `http.ssl.*`, each of whose two stores falls back to the listeners' when none of its own settings is
 * given — as Kafka Connect's REST listener takes `listeners.https.ssl.*` over the top-level `ssl.*`
 * (KIP-208). Protocols and principal mapping rules are always the broker's `ssl.enabled.protocols` and
 * `ssl.principal.mapping.rules`: one policy for every TLS port.
 *
 * Callers: src/broker/security/tls.ts (TlsMaterial loads the stores), src/config/load.ts and
 * src/broker/http/server.ts (httpSslProblems), src/broker/security/broker-security.ts.
 */
import type { SslClientAuth, SslProtocol } from './security.js';
import type { BrokerConfig } from './types.js';

export interface TlsStores {
  /** `ssl` or `http.ssl`: what log lines about this material say. */
  readonly name: string;
  readonly keystore: {
    /** The settings' prefix the keystore came from: `ssl` or `http.ssl`. */
    readonly prefix: string;
    readonly location: string | null;
    readonly certificateChain: string | null;
    readonly key: string | null;
    readonly password: string | null;
  };
  readonly truststore: { readonly prefix: string; readonly location: string | null; readonly certificates: string | null };
  readonly enabledProtocols: readonly SslProtocol[];
  readonly clientAuth: SslClientAuth;
}

type HttpSslSettings = Pick<
  BrokerConfig,
  | 'httpSslEnabled' | 'httpSslKeystoreLocation' | 'httpSslKeystoreCertificateChain' | 'httpSslKeystoreKey' | 'httpSslKeyPassword'
  | 'httpSslTruststoreLocation' | 'httpSslTruststoreCertificates' | 'httpSslClientAuth'
  | 'sslKeystoreLocation' | 'sslKeystoreCertificateChain' | 'sslKeystoreKey' | 'sslKeyPassword' | 'sslTruststoreLocation' | 'sslTruststoreCertificates'
  | 'sslEnabledProtocols'
>;

/** The Kafka listeners' stores (`ssl.*`). */
export function listenerTlsStores(c: BrokerConfig): TlsStores {
  return {
    name: 'ssl',
    keystore: { prefix: 'ssl', location: c.sslKeystoreLocation, certificateChain: c.sslKeystoreCertificateChain, key: c.sslKeystoreKey, password: c.sslKeyPassword },
    truststore: { prefix: 'ssl', location: c.sslTruststoreLocation, certificates: c.sslTruststoreCertificates },
    enabledProtocols: c.sslEnabledProtocols,
    clientAuth: c.sslClientAuth,
  };
}

/** The HTTP endpoint's stores: `http.ssl.*`, each store falling back to `ssl.*` when none of its settings is given. */
export function httpTlsStores(c: HttpSslSettings): TlsStores {
  const ownKeystore = c.httpSslKeystoreLocation !== null || c.httpSslKeystoreCertificateChain !== null || c.httpSslKeystoreKey !== null;
  const ownTruststore = c.httpSslTruststoreLocation !== null || c.httpSslTruststoreCertificates !== null;
  return {
    name: 'http.ssl',
    keystore: ownKeystore
      ? { prefix: 'http.ssl', location: c.httpSslKeystoreLocation, certificateChain: c.httpSslKeystoreCertificateChain, key: c.httpSslKeystoreKey, password: c.httpSslKeyPassword }
      : { prefix: 'ssl', location: c.sslKeystoreLocation, certificateChain: c.sslKeystoreCertificateChain, key: c.sslKeystoreKey, password: c.sslKeyPassword },
    truststore: ownTruststore
      ? { prefix: 'http.ssl', location: c.httpSslTruststoreLocation, certificates: c.httpSslTruststoreCertificates }
      : { prefix: 'ssl', location: c.sslTruststoreLocation, certificates: c.sslTruststoreCertificates },
    enabledProtocols: c.sslEnabledProtocols,
    clientAuth: c.httpSslClientAuth,
  };
}

/**
 * Settings of one keystore and truststore that do not go together (`prefix`: `ssl` or `http.ssl`): a
 * file and inline PEM at once, half of the inline pair. Each line names the setting.
 */
export function pemStoreProblems(
  prefix: string,
  s: { location: string | null; certificateChain: string | null; key: string | null; truststoreLocation: string | null; truststoreCertificates: string | null },
): string[] {
  const problems: string[] = [];
  const inline = s.certificateChain !== null || s.key !== null;
  if (inline && s.location !== null) problems.push(`${prefix}.keystore.location: give either it or ${prefix}.keystore.certificate.chain and ${prefix}.keystore.key, not both`);
  if (inline && (s.certificateChain === null || s.key === null)) problems.push(`${prefix}.keystore.certificate.chain: give it together with ${prefix}.keystore.key`);
  if (s.truststoreLocation !== null && s.truststoreCertificates !== null) {
    problems.push(`${prefix}.truststore.location: give either it or ${prefix}.truststore.certificates, not both`);
  }
  return problems;
}

/** Problems of the `http.ssl.*` settings taken together (each line names a setting); empty when none. */
export function httpSslProblems(c: HttpSslSettings): string[] {
  const problems = pemStoreProblems('http.ssl', {
    location: c.httpSslKeystoreLocation,
    certificateChain: c.httpSslKeystoreCertificateChain,
    key: c.httpSslKeystoreKey,
    truststoreLocation: c.httpSslTruststoreLocation,
    truststoreCertificates: c.httpSslTruststoreCertificates,
  });
  if (!c.httpSslEnabled) {
    if (c.httpSslClientAuth !== 'none') problems.push(`http.ssl.client.auth: ${c.httpSslClientAuth} needs http.ssl.enabled: true (client certificates come with TLS)`);
    return problems;
  }
  const stores = httpTlsStores(c);
  if (stores.keystore.location === null && stores.keystore.key === null) {
    problems.push('http.ssl.enabled: the HTTP endpoint needs a keystore (http.ssl.keystore.location, or http.ssl.keystore.certificate.chain and http.ssl.keystore.key, or the Kafka listeners\' ssl.keystore.*)');
  }
  if (c.httpSslClientAuth !== 'none' && stores.truststore.location === null && stores.truststore.certificates === null) {
    problems.push(`http.ssl.client.auth: ${c.httpSslClientAuth} needs a truststore to check client certificates against (http.ssl.truststore.location or http.ssl.truststore.certificates, or ssl.truststore.*)`);
  }
  return problems;
}
