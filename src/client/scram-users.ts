/**
 * SCRAM users through the Admin (KIP-554): DescribeUserScramCredentials and
 * AlterUserScramCredentials. The password never leaves the client: it is salted here as Kafka's
 * Admin does (UserScramCredentialUpsertion: a random salt of 130 bits written in base 36; the
 * request carries the salt and Hi(password, salt, iterations)), and the broker keeps only the keys
 * derived from that.
 */
import { randomBytes } from 'node:crypto';
import type { Init, MessageCodec } from '../protocol/codec/message.js';
import {
  AlterUserScramCredentialsRequest,
  AlterUserScramCredentialsResponse,
  ApiKey,
  DescribeUserScramCredentialsRequest,
  DescribeUserScramCredentialsResponse,
} from '../protocol/messages/index.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { mechanismByCode, saltedPassword, SCRAM, SCRAM_DEFAULT_ITERATIONS, SCRAM_MECHANISMS, type ScramMechanism } from '../protocol/scram.js';
import { ConfigError, KafkaProtocolError } from './errors.js';

export type { ScramMechanism } from '../protocol/scram.js';

export interface ScramUserDescription {
  user: string;
  credentials: { mechanism: ScramMechanism; iterations: number }[];
}

export type ScramCredentialAlteration =
  | { op: 'upsert'; user: string; mechanism: ScramMechanism; password: string; iterations?: number }
  | { op: 'delete'; user: string; mechanism: ScramMechanism };

type Send = <Req, Res>(apiKey: number, req: MessageCodec<Req>, res: MessageCodec<Res>, body: (v: number) => Init<Req>) => Promise<Res>;

/** Kafka's Admin salt: `new BigInteger(130, SecureRandom).toString(36)` as UTF-8 bytes. */
function kafkaSalt(): Buffer {
  const bits = BigInt(`0x${randomBytes(17).toString('hex')}`) >> 6n; // 136 random bits, 130 kept
  return Buffer.from(bits.toString(36), 'utf8');
}

function mechanismCode(m: string): number {
  if (!(SCRAM_MECHANISMS as readonly string[]).includes(m)) throw new ConfigError(`unknown SCRAM mechanism ${JSON.stringify(m)} (SCRAM-SHA-256 or SCRAM-SHA-512)`);
  return SCRAM[m as ScramMechanism].code;
}

/** Users with SCRAM credentials (all of them when `users` is absent); a named user without any is RESOURCE_NOT_FOUND. */
export async function describeScramUsers(send: Send, users?: readonly string[]): Promise<ScramUserDescription[]> {
  const res = await send(ApiKey.DescribeUserScramCredentials, DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse, () => ({
    users: users === undefined ? null : users.map((name) => ({ name })),
  }));
  if (res.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(res.errorCode, res.errorMessage);
  return res.results.map((r) => {
    if (r.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(r.errorCode, `user ${r.user}${r.errorMessage ? `: ${r.errorMessage}` : ''}`);
    return {
      user: r.user,
      // By mechanism: Kafka answers them in no fixed order.
      credentials: r.credentialInfos
        .flatMap((c) => {
          const mechanism = mechanismByCode(c.mechanism);
          return mechanism === null ? [] : [{ mechanism, iterations: c.iterations }];
        })
        .sort((a, b) => SCRAM[a.mechanism].code - SCRAM[b.mechanism].code),
    };
  });
}

/**
 * Add, replace or delete SCRAM credentials; the first refused one rejects (naming its user). Kafka
 * refuses a request that names a user twice (DUPLICATE_RESOURCE, "A user credential cannot be
 * altered twice in the same request"), even for two mechanisms: alterations of one user go in
 * successive requests.
 */
export async function alterScramUsers(send: Send, alterations: readonly ScramCredentialAlteration[]): Promise<void> {
  type Round = { users: Set<string>; upsertions: { name: string; mechanism: number; iterations: number; salt: Buffer; saltedPassword: Buffer }[]; deletions: { name: string; mechanism: number }[] };
  const rounds: Round[] = [];
  for (const a of alterations) {
    const mechanism = mechanismCode(a.mechanism);
    let round = rounds.find((r) => !r.users.has(a.user));
    if (!round) rounds.push((round = { users: new Set(), upsertions: [], deletions: [] }));
    round.users.add(a.user);
    if (a.op === 'delete') {
      round.deletions.push({ name: a.user, mechanism });
      continue;
    }
    const iterations = a.iterations ?? SCRAM_DEFAULT_ITERATIONS;
    // The broker checks the bounds (UNACCEPTABLE_CREDENTIAL); Hi() of a huge count would only stall us first.
    if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > 1_000_000) throw new ConfigError(`iterations must be a positive integer (got ${iterations})`);
    if (typeof a.password !== 'string' || a.password === '') throw new ConfigError(`an empty password for ${a.user}`);
    const salt = kafkaSalt();
    round.upsertions.push({ name: a.user, mechanism, iterations, salt, saltedPassword: await saltedPassword(a.mechanism, a.password, salt, iterations) });
  }
  for (const { deletions, upsertions } of rounds) {
    const res = await send(ApiKey.AlterUserScramCredentials, AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse, () => ({ deletions, upsertions }));
    for (const r of res.results) {
      if (r.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(r.errorCode, `user ${r.user}${r.errorMessage ? `: ${r.errorMessage}` : ''}`);
    }
  }
}
