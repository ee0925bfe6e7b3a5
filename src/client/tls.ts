/**
 * TLS for the client's connections, with node:tls. The option is kafkajs's: `ssl: true` (the
 * system's CAs) or the options of `tls.connect` (`ca`, `cert`, `key`, `passphrase`, `servername`,
 * `rejectUnauthorized`, `checkServerIdentity`, `minVersion`, …), used for every connection the
 * client opens. The broker's certificate is verified and must name the host we connect to (Kafka's
 * default `ssl.endpoint.identification.algorithm=https`); `servername` names another host to
 * verify and to send as SNI, `checkServerIdentity: () => undefined` turns only the name check off
 * (Kafka: an empty `ssl.endpoint.identification.algorithm`), `rejectUnauthorized: false` every check.
 *
 * Handshake failures become one clear TlsError (not retriable: a certificate does not start
 * verifying by itself) saying which side refused what and which option fixes it.
 */
import net from 'node:net';
import type tls from 'node:tls';
import { ConnectionError, TlsError } from './errors.js';

export type SslOptions = Omit<tls.ConnectionOptions, 'host' | 'port' | 'path' | 'socket' | 'onread' | 'timeout'>;

/** The tls.connect options for one connection to `host`. */
export function tlsConnectOptions(ssl: true | SslOptions, host: string): tls.ConnectionOptions {
  const o: tls.ConnectionOptions = ssl === true ? {} : { ...ssl };
  // SNI never carries an IP address (RFC 6066; Node warns): the name check still covers IP SANs.
  if (o.servername === undefined && net.isIP(host) === 0) o.servername = host;
  return o;
}

const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
]);

/**
 * What a socket error during (or right after: TLS 1.3 sends the server's verdict on our certificate
 * after the client's handshake) the TLS handshake means, as the client's error. Errors that are
 * not about TLS stay ConnectionErrors (retriable).
 */
export function tlsFailure(e: NodeJS.ErrnoException, address: string, handshakeDone: boolean): TlsError | ConnectionError {
  const code = e.code ?? '';
  const why = e.message;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new TlsError(`TLS to ${address}: the broker's certificate does not name the host we connect to (${why}); connect by a name the certificate has, or give that name in ssl.servername`, { cause: e });
  }
  if (UNTRUSTED.has(code)) {
    return new TlsError(`TLS to ${address}: the broker's certificate is not signed by a trusted CA (${why}); give its CA in ssl.ca`, { cause: e });
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return new TlsError(`TLS to ${address}: the broker's certificate is not valid now (${why})`, { cause: e });
  }
  if (code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED') {
    return new TlsError(`TLS to ${address}: the broker requires a client certificate (give ssl.cert and ssl.key)`, { cause: e });
  }
  if (/^ERR_SSL_(SSLV3|TLSV1)_ALERT_(BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE|CERTIFICATE_EXPIRED|ACCESS_DENIED)$/.test(code)) {
    return new TlsError(`TLS to ${address}: the broker refused our client certificate (${why})`, { cause: e });
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG') {
    return new TlsError(`TLS to ${address}: the broker does not answer in TLS (${why}); is this a TLS listener (SSL or SASL_SSL)?`, { cause: e });
  }
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) return new TlsError(`TLS to ${address} failed: ${why}`, { cause: e });
  if (!handshakeDone) {
    // A plain-text Kafka listener takes our ClientHello for a huge frame size and hangs up.
    return new ConnectionError(`TLS to ${address}: the connection closed during the TLS handshake (${why}); is this a TLS listener (SSL or SASL_SSL)?`, { cause: e });
  }
  return new ConnectionError(`connection to ${address} failed: ${why}`, { cause: e });
}
