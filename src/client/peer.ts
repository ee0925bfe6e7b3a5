/**
 * The broker's connections to other brokers (transaction markers between brokers sharing
 * PostgreSQL, src/broker/txn-markers-remote.ts) are the client's Connection; the layers above the
 * broker hand it this connector, since the broker layer does not import the client. TLS and SASL
 * come from the broker's inter-broker settings (src/broker/inter-broker.ts): the other broker's
 * certificate verified against the broker's truststore and its host name checked, this broker's
 * certificate presented, its own login.
 */
import type { PeerConnector } from '../broker/txn-markers-remote.js';
import { Connection } from './connection.js';

export const connectPeer: PeerConnector = ({ security, ...address }) =>
  Connection.connect({
    ...address,
    ...(security.tls !== null ? { ssl: security.tls } : {}),
    ...(security.sasl !== null ? { sasl: security.sasl } : {}),
  });
