/**
 * The broker's security state: its listeners (what each binds, speaks and advertises), the TLS
 * material, the SASL credentials and the certificate principal mapping. One per broker; each
 * connection's own state is a ConnectionSecurity (session.ts).
 */
import type { BrokerConfig } from '../../config/types.js';
import { parsePrincipalRules, resolveListeners, securityProblems, type ListenerConfig, type PrincipalRule } from '../../config/security.js';
import type { StorageEngine } from '../../storage/engine.js';
import type { Logger } from '../logger.js';
import { SaslCredentials } from './credentials.js';
import { TlsMaterial } from './tls.js';
import { listenerTlsStores } from '../../config/tls-stores.js';
import { OAuthBearerValidator } from './oauthbearer.js';
import { Authorizer } from './authorizer.js';

/** A listener as the broker runs it. */
export class BrokerListener {
  /** The port bound (the configured one, or the one picked for port 0). */
  boundPort = 0;

  constructor(readonly config: ListenerConfig) {}

  get name(): string {
    return this.config.name;
  }

  get tls(): boolean {
    return this.config.protocol === 'SSL' || this.config.protocol === 'SASL_SSL';
  }

  get sasl(): boolean {
    return this.config.protocol === 'SASL_PLAINTEXT' || this.config.protocol === 'SASL_SSL';
  }

  /** What Metadata, FindCoordinator and DescribeCluster tell this listener's clients. */
  get advertisedHost(): string {
    if (this.config.advertisedHost) return this.config.advertisedHost;
    const h = this.config.host;
    return h === '0.0.0.0' || h === '::' || h === '' ? '127.0.0.1' : h;
  }

  get advertisedPort(): number {
    return this.config.advertisedPort ?? this.boundPort;
  }
}

export class BrokerSecurity {
  readonly listeners: readonly BrokerListener[];
  readonly credentials: SaslCredentials;
  /** ACLs and who may do what (authorizer.ts); checks nothing unless `authorizer.enabled`. */
  readonly authorizer: Authorizer;
  readonly principalRules: readonly PrincipalRule[];
  /** Null when no listener uses TLS. */
  tls: TlsMaterial | null = null;
  /** Null unless a SASL listener offers OAUTHBEARER. */
  oauth: OAuthBearerValidator | null = null;

  /** Throws on settings that do not go together (loadConfig reports the same problems earlier). */
  constructor(
    readonly config: BrokerConfig,
    storage: StorageEngine,
    private readonly log: Logger,
  ) {
    const problems = securityProblems(config, config.storage.type === 'postgres');
    if (problems.length > 0) throw new Error(`invalid security configuration:\n${problems.join('\n')}`);
    this.listeners = (resolveListeners(config) as ListenerConfig[]).map((l) => new BrokerListener(l));
    this.principalRules = parsePrincipalRules(config.sslPrincipalMappingRules) as PrincipalRule[];
    this.credentials = new SaslCredentials(config, storage, log);
    this.authorizer = new Authorizer(config, storage, log);
  }

  /** After storage is open, before listening: TLS material loads (or the start fails), users are bootstrapped. */
  async start(): Promise<void> {
    this.authorizer.start();
    if (this.listeners.some((l) => l.tls)) {
      this.tls = new TlsMaterial(listenerTlsStores(this.config), this.log);
      this.tls.watch();
    }
    if (this.listeners.some((l) => l.sasl) || this.config.saslUsers.length > 0) await this.credentials.start();
    if (this.listeners.some((l) => l.sasl) && this.config.saslEnabledMechanisms.includes('OAUTHBEARER')) {
      const oauth = new OAuthBearerValidator(this.config);
      await oauth.start();
      this.oauth = oauth;
    }
  }

  close(): void {
    this.tls?.close();
  }
}
