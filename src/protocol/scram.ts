/**
 * SCRAM-SHA-256/512 (RFC 5802, RFC 7677) as Kafka uses it: the mechanisms with their hash, key size
 * and their code in Describe/AlterUserScramCredentials, the iteration bounds, and the primitives
 * H, HMAC and Hi. Shared by the broker (src/broker/security/: the server side and stored
 * credentials) and the client (src/client/sasl.ts: the client side, and salting for
 * AlterUserScramCredentials), so both compute the same keys by construction.
 *
 * Passwords are taken as their UTF-8 bytes without SASLprep, as Kafka's ScramFormatter does (kafkajs
 * applies SASLprep; for the ASCII passwords nearly everyone uses the two agree).
 */
import { createHash, createHmac, pbkdf2 } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

export const SCRAM_MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type ScramMechanism = (typeof SCRAM_MECHANISMS)[number];

/** Kafka's ScramMechanism: the hash, its output size, and its code in the Describe/AlterUserScramCredentials APIs. */
export const SCRAM = {
  'SCRAM-SHA-256': { hash: 'sha256', bytes: 32, code: 1 },
  'SCRAM-SHA-512': { hash: 'sha512', bytes: 64, code: 2 },
} as const satisfies Record<ScramMechanism, { hash: string; bytes: number; code: number }>;

/**
 * Kafka's ScramMechanism.minIterations / maxIterations: AlterUserScramCredentials refuses outside
 * them, and Kafka's SCRAM client refuses a server-first message asking for fewer than the minimum.
 */
export const SCRAM_MIN_ITERATIONS = 4096;
export const SCRAM_MAX_ITERATIONS = 16384;
/** Iterations when none are given: kafka-configs.sh's default. */
export const SCRAM_DEFAULT_ITERATIONS = 4096;

export function mechanismByCode(code: number): ScramMechanism | null {
  for (const m of SCRAM_MECHANISMS) if (SCRAM[m].code === code) return m;
  return null;
}

export function hmac(m: ScramMechanism, key: Buffer, data: Buffer | string): Buffer {
  return createHmac(SCRAM[m].hash, key).update(data).digest();
}

export function hash(m: ScramMechanism, data: Buffer): Buffer {
  return createHash(SCRAM[m].hash).update(data).digest();
}

/** Hi(password, salt, i) of RFC 5802: PBKDF2 with the mechanism's HMAC. */
export function saltedPassword(m: ScramMechanism, password: string, salt: Buffer, iterations: number): Promise<Buffer> {
  return pbkdf2Async(Buffer.from(password, 'utf8'), salt, iterations, SCRAM[m].bytes, SCRAM[m].hash);
}
