/**
 * What the broker's metrics (src/broker/metrics/) watch in the layers below the broker. Observers
 * watch, they never decide: a call returns nothing and must not throw. A layer given no observer pays
 * one null check per event.
 */

/** How one hook call ended: returned (allowing or refusing), threw, or ran past `hook.timeout.ms`. */
export type HookCallOutcome = 'ok' | 'error' | 'timeout';

/** Every hook call (src/hooks/machinery.ts, HookChain.call). */
export interface HookCallObserver {
  hookCall(hook: string, stage: string, seconds: number, outcome: HookCallOutcome): void;
}
