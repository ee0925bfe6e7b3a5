/** Rafka's client against a broker with TLS or SASL: a round trip through every kind of connection, and how a client fails. */
import type { StartBrokerOptions } from '../../src/broker/index.js';
import { Admin, Consumer, Producer, type ClusterOptions, type Connection } from '../../src/client/index.js';
import { ApiKey, MetadataRequest, MetadataResponse } from '../../src/protocol/messages/index.js';
import type { Pki } from './certs.js';

/**
 * A broker with every kind of listener: PLAINTEXT, SASL_PLAINTEXT, SSL (client certificates
 * requested, the principal their CN) and SASL_SSL, with every SASL mechanism (OAUTHBEARER taking
 * unsecured tokens) and the user `admin` allowed `adminMechanisms`.
 */
export function allListeners(pki: Pki, adminPassword: string, adminMechanisms: ('PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512')[]): StartBrokerOptions {
  return {
    listeners: ['PLAINTEXT://127.0.0.1:0', 'SASL_PLAINTEXT://127.0.0.1:0', 'SSL://127.0.0.1:0', 'SASL_SSL://127.0.0.1:0'],
    sslKeystoreLocation: pki.serverKeystore,
    sslTruststoreLocation: pki.caFile,
    sslClientAuth: 'requested',
    sslPrincipalMappingRules: 'RULE:^CN=([^,]+),.*$/$1/,DEFAULT',
    saslEnabledMechanisms: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'],
    saslOauthbearerAllowUnsecuredJwt: true,
    saslUsers: [{ name: 'admin', password: adminPassword, mechanisms: adminMechanisms }],
  };
}

/** Four Metadata requests in flight at all times on `conn` for `ms`; how many were answered. */
export async function keepBusy(conn: Connection, ms: number): Promise<number> {
  const until = Date.now() + ms;
  let answered = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (Date.now() < until) {
        await conn.request(ApiKey.Metadata, MetadataRequest, MetadataResponse, { topics: [], allowAutoTopicCreation: false });
        answered++;
      }
    }),
  );
  return answered;
}

/** Admin creates the topic, a Producer writes three records, a group Consumer reads them back. */
export async function roundTrip(opts: ClusterOptions, topic: string): Promise<string[]> {
  const admin = new Admin(opts);
  const producer = new Producer({ ...opts, lingerMs: 0 });
  const consumer = new Consumer({ ...opts, groupId: `g-${topic}`, autoOffsetReset: 'earliest' });
  try {
    await admin.createTopics([{ topic, numPartitions: 2 }]);
    await producer.send(topic, [{ value: 'one' }, { value: 'two' }, { value: 'three' }]);
    consumer.subscribe(topic);
    const seen: string[] = [];
    const deadline = Date.now() + 20_000;
    while (seen.length < 3 && Date.now() < deadline) {
      const m = await consumer.next(deadline - Date.now());
      if (m) seen.push(m.value!.toString());
    }
    await consumer.commit();
    return seen.sort();
  } finally {
    await Promise.all([consumer.close(), producer.close(), admin.close()]);
  }
}

/** How a client configured with `opts` fails its first request, and how long it took. */
export async function failure(opts: ClusterOptions): Promise<{ error: unknown; ms: number }> {
  const admin = new Admin({ ...opts, requestTimeoutMs: 8000 });
  const t0 = Date.now();
  try {
    await admin.listTopics();
    return { error: null, ms: Date.now() - t0 };
  } catch (error) {
    return { error, ms: Date.now() - t0 };
  } finally {
    await admin.close();
  }
}

