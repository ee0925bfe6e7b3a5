/** Rafka's public API for embedding. */
export { startBroker, Broker } from './broker/index.js';
export type { StartBrokerOptions, RunningBroker } from './broker/index.js';
export type { BrokerConfig, StorageConfig } from './config/types.js';
export type { StorageEngine } from './storage/engine.js';
export { MemoryEngine } from './storage/memory/memory-engine.js';
export { ErrorCode, KafkaError, errorName } from './protocol/error-codes.js';
