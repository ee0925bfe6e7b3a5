/**
 * Who may log in, and with what: SCRAM credentials kept by the storage engine (managed with
 * AlterUserScramCredentials, bootstrapped from `sasl.users`), and PLAIN users from `sasl.users`,
 * whose passwords are held only as scrypt hashes in memory. Passwords never reach a log line.
 *
 * Bootstrap: a `sasl.users` entry with a SCRAM mechanism is written to storage when the stored
 * credential is missing or no longer matches the configured password, so the configuration stays
 * the authority for the users it names, and users added with AlterUserScramCredentials survive
 * restarts beside them.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { BrokerConfig } from '../../config/types.js';
import type { SaslMechanism, SaslUserConfig } from '../../config/security.js';
import type { StorageEngine } from '../../storage/engine.js';
import type { Logger } from '../logger.js';
import {
  SCRAM_MECHANISMS,
  credentialFromPassword,
  credentialFromSalted,
  decodeUserCredentials,
  encodeUserCredentials,
  hmac,
  passwordMatches,
  type ScramCredential,
  type ScramMechanism,
} from './scram-credentials.js';

const SCRYPT_KEY_BYTES = 32;
/**
 * scrypt cost of a PLAIN check: every login attempt pays it on libuv's thread pool, which the
 * storage engines' file I/O shares, so it is kept to a few milliseconds and 2 MiB (N=2048, r=8)
 * rather than scrypt's interactive default (16 MiB): a flood of PLAIN attempts must not starve
 * appends. The hashes only ever live in memory.
 */
const SCRYPT_OPTIONS = { N: 2048, r: 8, p: 1 } as const;

function scryptHash(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(password, salt, SCRYPT_KEY_BYTES, SCRYPT_OPTIONS, (err, key) => (err ? reject(err) : resolve(key))));
}

interface PlainUser {
  salt: Buffer;
  hash: Buffer;
}

export class SaslCredentials {
  private readonly plain = new Map<string, PlainUser>();
  /** Decoded stored credentials, by user (kept in step with storage by upsert/delete). */
  private readonly scram = new Map<string, Map<ScramMechanism, ScramCredential>>();
  /** Salt and key of users that do not exist, so that SCRAM answers them like real ones (no user enumeration). */
  private readonly decoySecret = randomBytes(32);
  private readonly decoyPlain: PlainUser = { salt: randomBytes(16), hash: randomBytes(SCRYPT_KEY_BYTES) };
  /** Told of every change of a user's SCRAM credentials (onChange). */
  private readonly changed = new Set<(user: string) => void>();

  constructor(
    private readonly config: BrokerConfig,
    private readonly storage: StorageEngine,
    private readonly log: Logger,
  ) {}

  /** After storage is open: load stored credentials, then bootstrap `sasl.users`. */
  async start(): Promise<void> {
    for (const [user, bytes] of this.storage.scramCredentials()) this.scram.set(user, decodeUserCredentials(bytes));
    for (const u of this.config.saslUsers) await this.bootstrap(u);
  }

  private async bootstrap(u: SaslUserConfig): Promise<void> {
    const password = await this.passwordOf(u);
    const mechanisms: readonly SaslMechanism[] = u.mechanisms ?? this.config.saslEnabledMechanisms.filter((m) => m !== 'OAUTHBEARER');
    if (mechanisms.includes('PLAIN')) {
      const salt = randomBytes(16);
      this.plain.set(u.name, { salt, hash: await scryptHash(password, salt) });
    }
    for (const m of SCRAM_MECHANISMS) {
      if (!mechanisms.includes(m)) continue;
      const stored = this.scram.get(u.name)?.get(m);
      if (stored && (await passwordMatches(m, stored, password))) continue;
      await this.put(u.name, m, await credentialFromPassword(m, password));
      this.log.info(`sasl.users: ${m} credential of user "${u.name}" ${stored ? 'replaced' : 'stored'}`);
    }
  }

  private async passwordOf(u: SaslUserConfig): Promise<string> {
    if (u.password !== undefined) return u.password;
    try {
      // The first line: a trailing newline from `echo secret > file` is not part of the password.
      return (await readFile(u.passwordFile!, 'utf8')).split(/\r?\n/)[0]!;
    } catch (err) {
      throw new Error(`sasl.users: cannot read the password file of user "${u.name}": ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }

  /** PLAIN: whether user and password match a configured PLAIN user. Takes the same time for an unknown user. */
  async plainMatches(user: string, password: string): Promise<boolean> {
    const entry = this.plain.get(user);
    const candidate = await scryptHash(password, (entry ?? this.decoyPlain).salt);
    return timingSafeEqual(candidate, (entry ?? this.decoyPlain).hash) && entry !== undefined;
  }

  /**
   * A user name and password given whole (HTTP Basic on the HTTP endpoint, src/broker/http/auth.ts):
   * the mechanism whose credential it matches, or null. A SCRAM credential is checked by recomputing
   * the salted password with its salt and iterations (the stronger credential first, and only it:
   * a user with SCRAM-SHA-512 is not also tried against an older SCRAM-SHA-256 one), then a PLAIN
   * user's scrypt hash. An unknown user pays a SCRAM check against a decoy, so the answer takes the
   * same time whether the user exists or not.
   */
  async passwordLogin(user: string, password: string): Promise<{ mechanism: SaslMechanism; credential: ScramCredential | null } | null> {
    for (const m of [...SCRAM_MECHANISMS].reverse()) {
      const c = this.scramCredential(user, m);
      if (c !== null) return (await passwordMatches(m, c, password)) ? { mechanism: m, credential: c } : null;
    }
    if (this.plain.has(user)) return (await this.plainMatches(user, password)) ? { mechanism: 'PLAIN', credential: null } : null;
    await passwordMatches('SCRAM-SHA-512', this.decoyCredential(user, 'SCRAM-SHA-512'), password);
    return null;
  }

  /** Whether anyone can log in with a password: configured users or stored SCRAM credentials. */
  get hasUsers(): boolean {
    return this.plain.size > 0 || this.scram.size > 0;
  }

  scramCredential(user: string, m: ScramMechanism): ScramCredential | null {
    return this.scram.get(user)?.get(m) ?? null;
  }

  /**
   * What SCRAM tells a user that has no credential: a salt derived from the user name (the same on
   * every attempt, as a real one would be) and keys nobody can match.
   */
  decoyCredential(user: string, m: ScramMechanism): ScramCredential {
    const salt = hmac(m, this.decoySecret, `salt\u0000${user}`);
    return credentialFromSalted(m, salt, 4096, hmac(m, this.decoySecret, `key\u0000${user}`));
  }

  /** Users with stored SCRAM credentials, sorted. */
  scramUsers(): string[] {
    return [...this.scram.keys()].sort();
  }

  describe(user: string): { mechanism: ScramMechanism; iterations: number }[] | null {
    const creds = this.scram.get(user);
    if (!creds || creds.size === 0) return null;
    return SCRAM_MECHANISMS.filter((m) => creds.has(m)).map((m) => ({ mechanism: m, iterations: creds.get(m)!.iterations }));
  }

  /**
   * Call `f` with the user name after each change of a user's SCRAM credentials (the console closes
   * the Kafka clients it logged in with the old password); returns the unsubscribe function.
   */
  onChange(f: (user: string) => void): () => void {
    this.changed.add(f);
    return () => this.changed.delete(f);
  }

  async put(user: string, m: ScramMechanism, c: ScramCredential): Promise<void> {
    const next = new Map(this.scram.get(user) ?? []);
    next.set(m, c);
    await this.storage.putScramCredentials(user, encodeUserCredentials(next));
    this.scram.set(user, next);
    for (const f of this.changed) f(user);
  }

  /** Remove one mechanism's credential; false when the user had none for it. */
  async delete(user: string, m: ScramMechanism): Promise<boolean> {
    const current = this.scram.get(user);
    if (!current?.has(m)) return false;
    const next = new Map(current);
    next.delete(m);
    await this.storage.putScramCredentials(user, next.size === 0 ? null : encodeUserCredentials(next));
    if (next.size === 0) this.scram.delete(user);
    else this.scram.set(user, next);
    for (const f of this.changed) f(user);
    return true;
  }
}
