/**
 * The hook runner: owns the registered hooks and gives the broker one property per stage
 * (`broker.hooks.beforeProduce !== null`, …; the contract is HookStages in src/contracts/stages.ts).
 * A stage no hook implements is null, so a broker without hooks on a stage pays one property read
 * for it — no decoding, no allocation, no promise.
 *
 * Each stage lives in its own file under stages/; the order, time limit and failure rules they all
 * follow are machinery.ts (docs/hooks.md states them for hook authors).
 *
 * Called only from the broker's event loop.
 */
import type { Logger } from '../contracts/logger.js';
import type { ConnectionInfo } from '../contracts/request.js';
import type { HookStages } from '../contracts/stages.js';
import type { HookCallObserver } from '../contracts/observers.js';
import { register, type RegisterOptions } from './registration.js';
import { HookChain, isFailure } from './machinery.js';
import type { Hook } from './types.js';
import { connectionStage } from './stages/connection.js';
import { RequestStage } from './stages/request.js';
import { afterProduceStage, beforeProduceStage } from './stages/produce.js';
import { afterFetchStage, beforeFetchStage } from './stages/fetch.js';
import { topicPolicy } from './stages/topics.js';
import { commitStage, joinStage, rebalanceStage } from './stages/groups.js';

export { STAGES, compileSelector, checkHook, type Stage, type Registered, type RegisterOptions } from './registration.js';
export { MAX_THROTTLE_MS } from './stages/request.js';

export interface HookRunnerOptions {
  /** `hook.timeout.ms`. */
  timeoutMs: number;
  log: Logger;
  /** Counts and times every hook call (the broker's metrics). */
  observer?: HookCallObserver | null;
}

export class HookRunner implements HookStages {
  private readonly chain: HookChain;
  private readonly requests: RequestStage;
  readonly onConnection: HookStages['onConnection'];
  readonly handle: HookStages['handle'];
  readonly beforeProduce: HookStages['beforeProduce'];
  readonly afterProduce: HookStages['afterProduce'];
  readonly beforeFetch: HookStages['beforeFetch'];
  readonly afterFetch: HookStages['afterFetch'];
  readonly topicPolicy: HookStages['topicPolicy'];
  readonly onJoin: HookStages['onJoin'];
  readonly onJoined: HookStages['onJoined'];
  readonly onCommit: HookStages['onCommit'];

  constructor(hooks: readonly (Hook | { hook: Hook; options: RegisterOptions })[], options: HookRunnerOptions) {
    const chain = (this.chain = new HookChain(register(hooks, options.log), options.timeoutMs, options.log, options.observer ?? null));
    this.requests = new RequestStage(chain);
    this.onConnection = connectionStage(chain);
    this.handle = this.requests.handle;
    this.beforeProduce = beforeProduceStage(chain);
    this.afterProduce = afterProduceStage(chain);
    this.beforeFetch = beforeFetchStage(chain);
    this.afterFetch = afterFetchStage(chain);
    this.topicPolicy = topicPolicy(chain);
    this.onJoin = joinStage(chain);
    this.onJoined = rebalanceStage(chain);
    this.onCommit = commitStage(chain);
  }

  get timeoutMs(): number {
    return this.chain.timeoutMs;
  }

  /** Registered hooks in order (names, for diagnostics). */
  get names(): string[] {
    return this.chain.regs.map((r) => r.name);
  }

  /** For tests and diagnostics: whether a throttle currently mutes this connection. */
  isMuted(connection: ConnectionInfo): boolean {
    return this.requests.isMuted(connection);
  }

  /** Calls every hook's close() (in reverse order, like a stack); errors are logged. */
  async close(): Promise<void> {
    for (const reg of [...this.chain.regs].reverse()) {
      if (typeof reg.hook.close !== 'function') continue;
      const out = await this.chain.call(reg, 'close', 'shutdown', null, () => reg.hook.close!());
      if (isFailure(out)) this.chain.log.warn(`hook ${reg.name}: close failed: ${out.message}`);
    }
  }
}
