/**
 * Fuzzing of SASL exchanges: for each mechanism, tokens that are random, truncated or mutated
 * valid messages, sent at random points of the exchange (first or second SCRAM message, bare v0
 * frames, SaslAuthenticate without a handshake), and random requests in the middle of an exchange.
 * Every outcome is an answer (NONE for a well-formed first SCRAM message, otherwise
 * SASL_AUTHENTICATION_FAILED or ILLEGAL_SASL_STATE) or a closed connection; the broker never logs
 * an internal error and still serves a good login afterwards. Seeded (RAFKA_FUZZ_SEED).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningBroker } from '../src/broker/index.js';
import type { Logger } from '../src/broker/logger.js';
import { ApiKey } from '../src/protocol/messages/index.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { MetadataRequest } from '../src/protocol/messages/metadata.js';
import { SaslHandshakeRequest, SaslHandshakeResponse } from '../src/protocol/messages/sasl-handshake.js';
import { SaslAuthenticateRequest, SaslAuthenticateResponse } from '../src/protocol/messages/sasl-authenticate.js';
import { decodeResponse, RawClient } from './helpers/raw-client.js';
import { testBroker } from './helpers/broker.js';
import { prng } from './helpers/prng.js';


const MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'] as const;
const SAMPLES = [
  '\u0000admin\u0000fuzz-pw-1',
  'n,,n=admin,r=abcdefgh',
  'n,a=admin,n=admin,r=x,tokenauth=true',
  'c=biws,r=abcdefgh0123,p=AAAAAAAAAAAAAAAAAAAAAA==',
  'n,,\u0001auth=Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4IiwiZXhwIjo5OTk5OTk5OTk5fQ.\u0001\u0001',
  'n,,\u0001auth=Bearer \u0001\u0001',
];

function token(rand: () => number): Buffer {
  const base = Buffer.from(SAMPLES[Math.floor(rand() * SAMPLES.length)]!, 'utf8');
  switch (Math.floor(rand() * 4)) {
    case 0:
      return Buffer.from(Array.from({ length: Math.floor(rand() * 300) }, () => Math.floor(rand() * 256)));
    case 1:
      return base.subarray(0, Math.floor(rand() * base.length));
    case 2: {
      const m = Buffer.from(base);
      for (let i = 0; i < 1 + rand() * 4; i++) if (m.length > 0) m[Math.floor(rand() * m.length)] = Math.floor(rand() * 256);
      return m;
    }
    default:
      return base;
  }
}

describe('SASL exchange fuzzing', () => {
  let b: RunningBroker;
  const internal: string[] = [];
  const log: Logger = { error: (m) => void internal.push(m), warn: () => {}, info: () => {}, debug: () => {} };
  before(async () => {
    b = await testBroker({
      listeners: ['SASL_PLAINTEXT://127.0.0.1:0'],
      saslEnabledMechanisms: [...MECHANISMS],
      saslOauthbearerAllowUnsecuredJwt: true,
      saslUsers: [{ name: 'admin', password: 'fuzz-pw-1', mechanisms: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] }],
      connectionFailedAuthenticationDelayMs: 0,
      logger: log,
    });
  });
  after(() => b.close());

  test('random, truncated and mutated tokens at random points: answered or closed, never a crash', async () => {
    const seed = Number(process.env.RAFKA_FUZZ_SEED ?? 20261204);
    const rand = prng(seed);
    const outcomes = { answered: 0, closed: 0 };
    for (let round = 0; round < 150; round++) {
      const c = await RawClient.connect(b.port);
      try {
        const mechanism = MECHANISMS[Math.floor(rand() * MECHANISMS.length)]!;
        const version = rand() < 0.2 ? 0 : 1;
        const skipHandshake = rand() < 0.1;
        if (!skipHandshake) {
          const hs = await c.request(ApiKey.SaslHandshake, version, SaslHandshakeRequest, SaslHandshakeResponse, { mechanism });
          assert.equal(hs.errorCode, ErrorCode.NONE, `seed ${seed} round ${round}`);
        }
        for (let step = 0; step < 1 + Math.floor(rand() * 3) && !c.closed; step++) {
          const t = token(rand);
          if (version === 0 && !skipHandshake) {
            const size = Buffer.alloc(4);
            size.writeInt32BE(t.length, 0);
            c.write(Buffer.concat([size, t]));
            const frame = await c.readFrame();
            if (frame === null) outcomes.closed++;
            else outcomes.answered++;
            continue;
          }
          // A request other than SaslAuthenticate: closed, unless a fuzzed token happened to log in.
          const other = rand() < 0.15;
          if (other) c.write(c.frame(ApiKey.Metadata, 12, MetadataRequest, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }));
          else c.write(c.frame(ApiKey.SaslAuthenticate, 2, SaslAuthenticateRequest, { authBytes: t }, 1000 + step));
          const frame = await c.readFrame();
          if (frame === null) {
            outcomes.closed++;
            continue;
          }
          outcomes.answered++;
          if (other) continue;
          const res = decodeResponse(frame, ApiKey.SaslAuthenticate, 2, SaslAuthenticateResponse);
          assert.ok(([ErrorCode.NONE, ErrorCode.SASL_AUTHENTICATION_FAILED, ErrorCode.ILLEGAL_SASL_STATE] as number[]).includes(res.errorCode), `seed ${seed} round ${round}: ${res.errorCode}`);
        }
      } finally {
        c.close();
      }
    }
    assert.deepEqual(internal, [], 'no internal error was logged');
    assert.ok(outcomes.answered > 0 && outcomes.closed > 0, JSON.stringify(outcomes));
    const good = await RawClient.connect(b.port);
    await good.request(ApiKey.SaslHandshake, 1, SaslHandshakeRequest, SaslHandshakeResponse, { mechanism: 'PLAIN' });
    const auth = await good.request(ApiKey.SaslAuthenticate, 1, SaslAuthenticateRequest, SaslAuthenticateResponse, { authBytes: Buffer.from(SAMPLES[0]!) });
    assert.equal(auth.errorCode, ErrorCode.NONE);
    good.close();
  });
});
