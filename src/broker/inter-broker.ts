/**
 * How this broker connects to the other brokers (transaction markers to other partition leaders,
 * txn-markers-remote.ts), as Kafka's inter-broker client does: to each broker's endpoint on
 * `inter.broker.listener.name` (default: the first listener), speaking that listener's security
 * protocol with this broker's own identity:
 * - TLS: the other broker's certificate is checked against `ssl.truststore.*` (the system's CAs
 *   when none is given) and must name the host connected to (Kafka's default
 *   `ssl.endpoint.identification.algorithm=https`); this broker presents its `ssl.keystore.*`
 *   certificate, so on an `ssl.client.auth=required` listener it is the certificate's principal.
 * - SASL: `sasl.mechanism.inter.broker.protocol` with the username and password of
 *   `sasl.jaas.config` (Kafka's PlainLoginModule / ScramLoginModule options).
 * The principal this gives needs CLUSTER_ACTION on the cluster (or a place in `super.users`) when
 * the authorizer is on: WriteTxnMarkers is refused otherwise (docs/security.md).
 *
 * The settings are checked when the configuration loads (config/security.ts), so resolving them
 * here cannot fail on a started broker. Nothing here is ever logged: the password is a secret.
 *
 * Callers: RoutedTxnMarkers, for each connection it opens (TLS material is read at that moment, so
 * a reloaded keystore is used by the next connection).
 */
import type tls from 'node:tls';
import { interBrokerListener, interBrokerLogin, type InterBrokerSaslMechanism } from '../config/security.js';
import { invariant } from '../base/assert.js';
import type { BrokerListener, BrokerSecurity } from './security/broker-security.js';

/** TLS for an outgoing inter-broker connection, in node:tls's terms: the CAs trusted, this broker's key and certificate. */
export type PeerTls = Pick<tls.SecureContextOptions, 'ca' | 'cert' | 'key' | 'passphrase'>;

/** The SASL login of an outgoing inter-broker connection. */
export interface PeerSasl {
  mechanism: InterBrokerSaslMechanism;
  username: string;
  password: string;
}

/** What a connection to another broker's inter-broker listener needs besides its address. */
export interface PeerSecurity {
  tls: PeerTls | null;
  sasl: PeerSasl | null;
}

export class InterBrokerClient {
  /** The listener whose endpoints the other brokers are reached at. */
  readonly listener: BrokerListener;
  private readonly sasl: PeerSasl | null;

  constructor(private readonly security: BrokerSecurity) {
    const c = security.config;
    const name = interBrokerListener(security.listeners.map((l) => l.config), c.interBrokerListenerName)?.name;
    const listener = security.listeners.find((l) => l.name === name);
    invariant(listener !== undefined, 'inter.broker.listener.name is checked when the configuration loads');
    this.listener = listener;
    if (listener.sasl) {
      const login = interBrokerLogin(c.saslJaasConfig);
      invariant(typeof login !== 'string', 'sasl.jaas.config is checked when the configuration loads');
      this.sasl = { mechanism: c.saslMechanismInterBrokerProtocol, ...login };
    } else this.sasl = null;
  }

  /** TLS and SASL for a connection opened now. */
  peerSecurity(): PeerSecurity {
    return { tls: this.listener.tls ? this.tls() : null, sasl: this.sasl };
  }

  private tls(): PeerTls {
    const material = this.security.tls;
    invariant(material !== null, 'a TLS listener loads its material at start');
    const { ca, cert, key, passphrase } = material.options;
    return { ca, cert, key, passphrase };
  }
}
