/** Rafka's public API for embedding. */
import { startBroker as startBrokerWithout, type StartBrokerOptions, type RunningBroker, type ClockOf } from './broker/index.js';
import { CONSOLE_EXTENSION } from './console/extension.js';
import { connectPeer } from './client/peer.js';
export { Broker } from './broker/index.js';
export type { StartBrokerOptions, RunningBroker, ClockOf } from './broker/index.js';
export { ManualClock, SYSTEM_CLOCK } from './base/clock.js';
export type { Clock, ClockTimer } from './base/clock.js';
export { CONSOLE_EXTENSION } from './console/extension.js';

/**
 * `startBroker` (src/broker/index.ts) with the web console on the HTTP endpoint unless `httpExtensions`
 * says otherwise, and the client's connections for what brokers sharing PostgreSQL ask each other.
 */
export function startBroker<O extends StartBrokerOptions>(options?: O): Promise<RunningBroker<ClockOf<O>>>;
export function startBroker(options: StartBrokerOptions = {}): Promise<RunningBroker> {
  return startBrokerWithout({ httpExtensions: [CONSOLE_EXTENSION], peerConnector: connectPeer, ...options });
}
export type { BrokerConfig, StorageConfig } from './config/types.js';
export type { StorageEngine } from './storage/engine.js';
export { MemoryEngine } from './storage/memory/memory-engine.js';
export { ErrorCode, KafkaError, errorName } from './protocol/error-codes.js';
export { ensureCodecsLoadable } from './protocol/codec/lazy.js';
export * from './client/index.js';
// Hooks on the request path (docs/hooks.md): the API for hook modules and the built-in hooks.
export { defineHook, HOOK_FAILED_ERROR, HOOK_TIMEOUT_ERROR, jsonSchemaHook, stampHeadersHook, redactHook, auditLogHook, rateLimitHook } from './hooks/index.js';
export type {
  Hook,
  HookSpec,
  HookEntry,
  HookFactory,
  HookFactoryContext,
  HookBatch,
  HookRecord,
  HookLogger,
  Refusal,
  RecordErrorInfo,
  TopicSelector,
  RequestVerdict,
  ResponseVerdict,
  ConnectionHookContext,
  ConnectionDecision,
  RequestInfo,
  RequestHookContext,
  ResponseHookContext,
  PartitionHookContext,
  BeforeProduceContext,
  AfterProduceContext,
  BeforeFetchContext,
  AfterFetchContext,
  TopicCreateContext,
  TopicDeleteContext,
  JoinContext,
  RebalanceEvent,
  CommitEvent,
} from './hooks/index.js';
// Fault injection (docs/testing.md): `broker.faults.inject({ api: 'Produce', errorCode: 'NOT_LEADER_OR_FOLLOWER', times: 2 })`.
export { FaultInjector, FaultSpecError, GROUP_COORDINATOR_APIS } from './broker/faults.js';
export type { FaultSpec, FaultRecord, FaultKind, InjectedFault } from './broker/faults.js';
