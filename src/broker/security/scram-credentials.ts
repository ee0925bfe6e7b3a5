/**
 * SCRAM credentials (RFC 5802) as the storage engine keeps them: per user and mechanism the salt, the
 * iteration count, StoredKey = H(HMAC(SaltedPassword, "Client Key")) and ServerKey =
 * HMAC(SaltedPassword, "Server Key") — never the password nor the salted password, so a copy of the
 * data directory lets nobody log in (Kafka keeps the same four values in its metadata log).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { hash, hmac, saltedPassword, SCRAM_DEFAULT_ITERATIONS, SCRAM_MECHANISMS, type ScramMechanism } from '../../protocol/scram.js';

// The SCRAM primitives are shared with the client (src/protocol/scram.ts); re-exported for the broker.
export { hash, hmac, mechanismByCode, saltedPassword, SCRAM, SCRAM_DEFAULT_ITERATIONS, SCRAM_MAX_ITERATIONS, SCRAM_MECHANISMS, SCRAM_MIN_ITERATIONS } from '../../protocol/scram.js';
export type { ScramMechanism } from '../../protocol/scram.js';

export interface ScramCredential {
  readonly salt: Buffer;
  readonly iterations: number;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
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
