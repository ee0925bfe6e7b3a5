/**
 * Periodic log maintenance, Kafka's `LogManager` retention check plus the cleaner's schedule: every
 * `log.retention.check.interval.ms` (default 300000) one pass over every partition of every topic:
 * - `cleanup.policy` has `delete`: time and size retention (`retention.ms`, `retention.bytes`)
 *   through StorageEngine.applyRetention, on every engine (the engine removes whole units only and
 *   never the newest; for the log engine, whole sealed segments);
 * - `cleanup.policy` has `compact` and the engine declares compaction (StorageEngine.capabilities;
 *   the log engine does): one cleaning pass
 *   with `delete.retention.ms` and `min.compaction.lag.ms`.
 *
 * One pass at a time; a pass that is still running when the timer fires is not doubled. A failure
 * on one partition is logged and the pass goes on. Tests call `runOnce(nowMs)` with their own clock.
 *
 * Callers: the Broker (start/stop) and tests.
 */
import type { AbortedRange, StorageEngine } from '../storage/engine.js';
import type { TopicManager } from './topics.js';
import type { Logger } from './logger.js';
import { SYSTEM_CLOCK, type Clock, type ClockTimer } from '../base/clock.js';

export interface MaintenanceReport {
  partitionsRetained: number;
  partitionsCompacted: number;
  /** Partitions whose log start offset moved. */
  logStartsMoved: number;
  errors: number;
}

/** Topic configs are strings; Kafka's Long.MAX_VALUE and other huge values mean "never". */
function longConfig(v: string | undefined, fallback: number): number {
  const n = Number(v);
  return v === undefined || !Number.isFinite(n) ? fallback : n;
}

/** What compaction needs to know of a partition's transactions (the broker's producer state). */
export interface PartitionTransactions {
  lastStableOffset(topic: string, partition: number): number;
  abortedTransactions(topic: string, partition: number): readonly AbortedRange[];
  /** Retention moved the partition's log start. */
  logStartMoved(topic: string, partition: number, logStartOffset: number): void;
  /** Compaction removed all data of these aborted transactions: their index entries go. */
  abortedTransactionsEmptied(topic: string, partition: number, emptied: readonly AbortedRange[]): Promise<void>;
}

const NO_TRANSACTIONS: PartitionTransactions = {
  lastStableOffset: () => Infinity,
  abortedTransactions: () => [],
  logStartMoved: () => {},
  abortedTransactionsEmptied: async () => {},
};

export class LogMaintenance {
  private timer: ClockTimer | null = null;
  private running: Promise<MaintenanceReport> | null = null;
  private stopped = false;
  /** Brokers sharing a database: whether this one leads a partition (only its leader retains and compacts it). Null: every partition. */
  leads: ((topic: string, partition: number) => boolean) | null = null;

  constructor(
    private readonly topics: TopicManager,
    private readonly storage: StorageEngine,
    private readonly log: Logger,
    private readonly intervalMs: number,
    private readonly clock: Clock = SYSTEM_CLOCK,
    private readonly transactions: PartitionTransactions = NO_TRANSACTIONS,
  ) {}

  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = this.clock.setInterval(() => {
      if (!this.running) void this.runOnce();
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Stop the timer and wait for a pass in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = null;
    if (this.running) await this.running;
  }

  /** One pass over every partition (waits for a pass already running, then runs its own). */
  async runOnce(nowMs: number = this.clock.now()): Promise<MaintenanceReport> {
    while (this.running) await this.running;
    this.running = this.pass(nowMs).finally(() => (this.running = null));
    return this.running;
  }

  private async pass(nowMs: number): Promise<MaintenanceReport> {
    const report: MaintenanceReport = { partitionsRetained: 0, partitionsCompacted: 0, logStartsMoved: 0, errors: 0 };
    for (const topic of this.topics.list()) {
      const value = (name: string) => this.topics.configValue(topic, name);
      const policies = (value('cleanup.policy') ?? 'delete').split(',').map((p) => p.trim());
      const retention = policies.includes('delete');
      const compaction = policies.includes('compact') ? this.storage.capabilities.compaction : null;
      if (!retention && compaction === null) continue;
      for (let p = 0; p < topic.partitionCount; p++) {
        if (!this.topics.hasPartition(topic.name, p)) break; // deleted during the pass
        if (this.leads !== null && !this.leads(topic.name, p)) continue;
        try {
          if (retention) {
            const before = this.storage.offsets(topic.name, p).logStartOffset;
            const after = await this.storage.applyRetention(topic.name, p, {
              retentionMs: longConfig(value('retention.ms'), -1),
              retentionBytes: longConfig(value('retention.bytes'), -1),
              nowMs,
            });
            report.partitionsRetained++;
            if (after !== before) {
              report.logStartsMoved++;
              this.transactions.logStartMoved(topic.name, p, after);
              this.log.info(`retention: ${topic.name}-${p} log start offset ${before} -> ${after}`);
            }
          }
          if (compaction !== null) {
            const r = await compaction.compact(topic.name, p, {
              nowMs,
              deleteRetentionMs: longConfig(value('delete.retention.ms'), 86400000),
              minCompactionLagMs: longConfig(value('min.compaction.lag.ms'), 0),
              // Kafka's cleaner rules for transactions: never past the LSO; aborted data removed.
              firstUncleanableOffset: this.transactions.lastStableOffset(topic.name, p),
              abortedTransactions: this.transactions.abortedTransactions(topic.name, p),
            });
            report.partitionsCompacted++;
            if (r.abortedTransactionsEmptied.length > 0) await this.transactions.abortedTransactionsEmptied(topic.name, p, r.abortedTransactionsEmptied);
            if (r.segmentsCleaned > 0) {
              this.log.info(
                `compaction: ${topic.name}-${p} cleaned ${r.segmentsCleaned} segments, removed ${r.recordsRemoved} records (${r.tombstonesRemoved} tombstones) and ${r.markersRemoved} transaction markers, ${r.bytesBefore} -> ${r.bytesAfter} bytes`,
              );
            }
          }
        } catch (err) {
          if (!this.topics.hasPartition(topic.name, p)) break;
          report.errors++;
          this.log.error(`log maintenance of ${topic.name}-${p} failed: ${(err as Error).message}`);
        }
      }
    }
    return report;
  }
}
