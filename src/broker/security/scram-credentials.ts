/**
 * SCRAM credentials (RFC 5802) as the storage engine keeps them: per user and mechanism the salt, the
 * iteration count, StoredKey = H(HMAC(SaltedPassword, "Client Key")) and ServerKey =
 * HMAC(SaltedPassword, "Server Key") — never the password nor the salted password, so a copy of the
 * data directory lets nobody log in (Kafka keeps the same four values in its metadata log).
 */
import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

export const SCRAM_MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type ScramMechanism = (typeof SCRAM_MECHANISMS)[number];

/** Kafka's ScramMechanism: its iteration bounds, and its code in the Describe/AlterUserScramCredentials APIs. */
export const SCRAM = {
  'SCRAM-SHA-256': { hash: 'sha256', bytes: 32, code: 1 },
  'SCRAM-SHA-512': { hash: 'sha512', bytes: 64, code: 2 },
} as const satisfies Record<ScramMechanism, { hash: string; bytes: number; code: number }>;

/** Kafka's ScramMechanism.minIterations / maxIterations (AlterUserScramCredentials refuses outside them). */
export const SCRAM_MIN_ITERATIONS = 4096;
export const SCRAM_MAX_ITERATIONS = 16384;
/** Iterations of credentials Rafka derives itself (bootstrap users): Kafka's default for kafka-configs.sh. */
export const SCRAM_DEFAULT_ITERATIONS = 4096;

export function mechanismByCode(code: number): ScramMechanism | null {
  for (const m of SCRAM_MECHANISMS) if (SCRAM[m].code === code) return m;
  return null;
}

export interface ScramCredential {
  readonly salt: Buffer;
  readonly iterations: number;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
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

/** The stored form from a salted password (what AlterUserScramCredentials sends; the password stays with the client). */
export function credentialFromSalted(m: ScramMechanism, salt: Buffer, iterations: number, salted: Buffer): ScramCredential {
  const clientKey = hmac(m, salted, 'Client Key');
  return { salt: Buffer.from(salt), iterations, storedKey: hash(m, clientKey), serverKey: hmac(m, salted, 'Server Key') };
}

export async function credentialFromPassword(m: ScramMechanism, password: string, iterations = SCRAM_DEFAULT_ITERATIONS): Promise<ScramCredential> {
  const salt = randomBytes(32);
  return credentialFromSalted(m, salt, iterations, await saltedPassword(m, password, salt, iterations));
}

/** Whether `password` is the one `c` was derived from (constant time in the comparison). */
export async function passwordMatches(m: ScramMechanism, c: ScramCredential, password: string): Promise<boolean> {
  const fresh = credentialFromSalted(m, c.salt, c.iterations, await saltedPassword(m, password, c.salt, c.iterations));
  return fresh.storedKey.length === c.storedKey.length && timingSafeEqual(fresh.storedKey, c.storedKey);
}

/** One user's credentials, by mechanism. */
export type UserCredentials = ReadonlyMap<ScramMechanism, ScramCredential>;

interface StoredForm {
  v: 1;
  m: Partial<Record<ScramMechanism, { s: string; i: number; k: string; sk: string }>>;
}

export function encodeUserCredentials(creds: UserCredentials): Buffer {
  const out: StoredForm = { v: 1, m: {} };
  for (const [m, c] of creds) {
    out.m[m] = { s: c.salt.toString('base64'), i: c.iterations, k: c.storedKey.toString('base64'), sk: c.serverKey.toString('base64') };
  }
  return Buffer.from(JSON.stringify(out), 'utf8');
}

/** The stored form back; throws on a value that is not one (storage corruption is a bug to surface). */
export function decodeUserCredentials(bytes: Buffer): Map<ScramMechanism, ScramCredential> {
  const parsed = JSON.parse(bytes.toString('utf8')) as StoredForm;
  if (parsed.v !== 1 || typeof parsed.m !== 'object' || parsed.m === null) throw new Error('stored SCRAM credentials of an unknown form');
  const out = new Map<ScramMechanism, ScramCredential>();
  for (const m of SCRAM_MECHANISMS) {
    const c = parsed.m[m];
    if (!c) continue;
    out.set(m, { salt: Buffer.from(c.s, 'base64'), iterations: c.i, storedKey: Buffer.from(c.k, 'base64'), serverKey: Buffer.from(c.sk, 'base64') });
  }
  return out;
}
