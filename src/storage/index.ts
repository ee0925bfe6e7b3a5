/**
 * Picks the storage engine named by the configuration. Each engine's modules are imported when it is
 * chosen: a broker loads one engine, not all of them (the rocksdb engine's native binding alone costs
 * ~15 ms and ~15 MiB).
 */
import type { StorageConfig } from '../config/types.js';
import type { StorageEngine, StorageObserver } from './engine.js';

/** What an engine may need from the broker besides its own settings. */
export interface EngineContext {
  /** Broker-wide topic config defaults (`topic.defaults`): the log engine's segment.bytes, flush.*, …, every engine's producer snapshot interval. */
  topicDefaults?: Readonly<Record<string, string>>;
  /** Where an engine reports recovery and disk problems. */
  warn?: (message: string) => void;
  /** Times the engine's fsyncs (the broker's metrics). */
  observer?: StorageObserver | null;
  /** This broker's id (`node.id`): the postgres engine records it as the holder of its partitions. */
  nodeId?: number;
  /** The broker's clock (ms since the epoch): the log engine rolls segments by segment.ms on it. Default Date.now. */
  now?: () => number;
  /** A broker runs the engine: the postgres engine's partitions are shared with other brokers (led as assigned, src/broker/shared-cluster.ts). */
  shared?: boolean;
}

export async function createStorageEngine(config: StorageConfig, context: EngineContext = {}): Promise<StorageEngine> {
  switch (config.type) {
    case 'memory': {
      // With a data directory: the same in-memory state, made durable by a write-ahead log and snapshots.
      if (config.path !== null) {
        const { WalMemoryEngine } = await import('./memory-wal/wal-engine.js');
        return new WalMemoryEngine({
          path: config.path, fsync: config.fsync, fsyncIntervalMs: config.fsyncIntervalMs, snapshotBytes: config.walSnapshotBytes, warn: context.warn,
          topicDefaults: context.topicDefaults, observer: context.observer,
        });
      }
      const { MemoryEngine } = await import('./memory/memory-engine.js');
      return new MemoryEngine({ topicDefaults: context.topicDefaults });
    }
    case 'rocksdb': {
      if (config.path === null) throw new Error('storage: the rocksdb engine needs a data directory (storage.path / --data-dir)');
      const { RocksDbEngine } = await import('./rocksdb/rocksdb-engine.js');
      return new RocksDbEngine({ path: config.path, fsync: config.fsync, fsyncIntervalMs: config.fsyncIntervalMs, topicDefaults: context.topicDefaults });
    }
    case 'log': {
      if (config.path === null) throw new Error('storage: the log engine needs a data directory (storage.path / --data-dir)');
      const { LogEngine } = await import('./log/log-engine.js');
      return new LogEngine({
        path: config.path, fsync: config.fsync, fsyncIntervalMs: config.fsyncIntervalMs, topicDefaults: context.topicDefaults, warn: context.warn,
        observer: context.observer, now: context.now, journal: config.journal,
      });
    }
    case 'postgres': {
      // Its own place: a database rather than a directory (storage.path is not used).
      const { PostgresEngine } = await import('./postgres/postgres-engine.js');
      return new PostgresEngine({
        url: config.url ?? null, poolSize: config.poolSize, fsync: config.fsync, topicDefaults: context.topicDefaults, nodeId: context.nodeId,
        observer: context.observer, leadership: context.shared ? 'assigned' : 'all',
      });
    }
    default:
      throw new Error(`storage: unknown engine ${JSON.stringify((config as StorageConfig).type)} (expected memory, log, rocksdb or postgres)`);
  }
}

export type { StorageEngine } from './engine.js';
