/**
 * The broker's connections to other brokers (transaction markers between brokers sharing
 * PostgreSQL, src/broker/txn-markers-remote.ts) are the client's Connection; the layers above the
 * broker hand it this connector, since the broker layer does not import the client.
 */
import type { PeerConnector } from '../broker/txn-markers-remote.js';
import { Connection } from './connection.js';

export const connectPeer: PeerConnector = (options) => Connection.connect(options);
