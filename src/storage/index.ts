/** Picks the storage engine named by the configuration. */
import type { StorageConfig } from '../config/types.js';
import type { StorageEngine } from './engine.js';
import { MemoryEngine } from './memory/memory-engine.js';

export async function createStorageEngine(config: StorageConfig): Promise<StorageEngine> {
  switch (config.type) {
    case 'memory':
      if (config.path !== null) {
        throw new Error(
          `storage: the memory engine's write-ahead log (storage.path=${config.path}) is not available yet; remove storage.path to run purely in memory`,
        );
      }
      return new MemoryEngine();
    case 'log':
    case 'rocksdb':
      throw new Error(`storage: the ${config.type} engine is not available yet in this version; use storage_type: memory`);
    default:
      throw new Error(`storage: unknown engine ${JSON.stringify((config as StorageConfig).type)} (expected memory, log or rocksdb)`);
  }
}

export type { StorageEngine } from './engine.js';
export { MemoryEngine } from './memory/memory-engine.js';
