/**
 * The console's Kafka clients (src/console/clients.ts) do not outlive their use: the Admin logged in
 * with a user's password closes, with its connection to the broker, as soon as that user's SCRAM
 * credential changes (the HTTP layer refuses the old password from then on), and a principal's
 * clients unused for the idle time close too; the next request makes new ones.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { HttpRequest } from '../src/broker/http/server.js';
import { startBroker, type RunningBroker } from '../src/index.js';
import { createLogger } from '../src/broker/logger.js';
import { Admin } from '../src/client/admin.js';
import { HttpAuthenticator } from '../src/broker/http/auth.js';
import { ConsoleClients } from '../src/console/clients.js';

const ADMIN_PW = 'admin-Cc-Pw-91a2';
const ALICE_PW = 'alice-Cc-Pw-3f7e';

async function eventually(check: () => void, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

describe('the console\'s Kafka clients close when unusable or unused', () => {
  let b: RunningBroker;
  let auth: HttpAuthenticator;

  before(async () => {
    b = await startBroker({
      port: 0,
      listeners: ['SASL_PLAINTEXT://127.0.0.1:0'],
      saslEnabledMechanisms: ['SCRAM-SHA-512'],
      saslUsers: [
        { name: 'admin', password: ADMIN_PW },
        { name: 'alice', password: ALICE_PW },
      ],
      connectionFailedAuthenticationDelayMs: 0,
      logger: createLogger('error', () => {}),
    });
    auth = new HttpAuthenticator(b.broker);
  });
  after(() => b?.close());

  /** The broker's connection count once earlier tests' closed connections are gone (none stays open between tests). */
  async function settled(): Promise<number> {
    await eventually(() => assert.equal(b.broker.connectionCount, 0));
    return 0;
  }

  /** A request authenticated as the HTTP endpoint would (the console only sees its principal). */
  async function request(user: string, password: string): Promise<HttpRequest> {
    const req = { headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` }, remoteAddress: '127.0.0.1', tls: null } as unknown as HttpRequest;
    assert.equal(await auth.authenticate(req, '/api/topics'), null);
    return req;
  }

  test('a changed SCRAM password closes the clients logged in with the old one, and only those', async () => {
    const clients = new ConsoleClients(b.broker);
    try {
      const before = await settled();
      await (await clients.admin(await request('alice', ALICE_PW))).listTopics();
      await (await clients.admin(await request('admin', ADMIN_PW))).listTopics();
      assert.equal(clients.openIdentities, 2);
      assert.equal(b.broker.connectionCount, before + 2);

      const changer = new Admin({ bootstrap: b.bootstrap, sasl: { mechanism: 'SCRAM-SHA-512', username: 'admin', password: ADMIN_PW } });
      try {
        await changer.alterUserScramCredentials([{ op: 'upsert', user: 'alice', mechanism: 'SCRAM-SHA-512', password: `${ALICE_PW}-new` }]);
      } finally {
        await changer.close();
      }
      assert.equal(clients.openIdentities, 1, 'alice\'s clients are forgotten at once');
      await eventually(() => assert.equal(b.broker.connectionCount, before + 1, 'and their connection closed'));

      // The new password makes new clients, which work.
      assert.deepEqual(await (await clients.admin(await request('alice', `${ALICE_PW}-new`))).listTopics(), []);
      assert.equal(clients.openIdentities, 2);
    } finally {
      await clients.close();
    }
  });

  test('clients unused for the idle time close; in use they stay', async () => {
    const clients = new ConsoleClients(b.broker, 400);
    try {
      const before = await settled();
      const req = await request('admin', ADMIN_PW);
      await (await clients.admin(req)).listTopics();
      // Used every 100 ms: still open after twice the idle time.
      for (let i = 0; i < 8; i++) {
        await new Promise((r) => setTimeout(r, 100));
        await (await clients.admin(req)).listTopics();
      }
      assert.equal(clients.openIdentities, 1);
      await eventually(() => assert.equal(clients.openIdentities, 0), 3000);
      await eventually(() => assert.equal(b.broker.connectionCount, before));
      assert.deepEqual(await (await clients.admin(req)).listTopics(), [], 'made again on the next use');
    } finally {
      await clients.close();
    }
  });
});
