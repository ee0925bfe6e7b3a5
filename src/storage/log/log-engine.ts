/**
 * The `log` storage engine: Kafka's on-disk layout, one directory per partition holding segments
 * (`<20-digit base offset>.log` + `.index` + `.timeindex`), and a checksummed metadata log for
 * everything else. See docs/storage.md for the formats, the fsync policies and recovery.
 *
 * Data directory:
 *
 *   <path>/storage.json            which engine owns the directory, and the format version
 *   <path>/.lock                   pid of the broker using it, for messages; the lock itself is a
 *                                  kernel socket released when its holder dies (../dir-lock.ts)
 *   <path>/.clean-shutdown         written last by a clean close, removed first by open
 *   <path>/metadata.log            MetadataStore (topics, configs, offsets, group metadata, ...)
 *   <path>/<topic>-<partition>/    one PartitionLog each, and its producer-state snapshots
 *                                  (`<20-digit offset>.snapshot`, written temp + fsync + rename)
 *   <path>/journal/                the shared journal, with `storage.journal` (journal.ts)
 *
 * Callers: the broker's event loop (StorageEngine), the maintenance loop (`compact`), tests.
 */
import { mkdir, open, readFile, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { FsyncPolicy } from '../../config/types.js';
import { kafkaTopicConfigDefaults } from '../../config/topic-configs.js';
import type {
  AppendBatch,
  AppendResult,
  BrokerMetadata,
  GroupOffsetEntry,
  PartitionOffsets,
  ReadResult,
  RetentionPolicy,
  StorageCapabilities,
  Compaction,
  SegmentStats,
  StorageEngine,
  StorageObserver,
  TopicRecord,
} from '../engine.js';
import { copyCommitted } from '../engine.js';
import {
  DELETE_DIR_SUFFIX,
  LOG_SUFFIX,
  parseSegmentFileName,
  SNAPSHOT_SUFFIX,
  describeIoError,
  fsyncDir,
  partitionDirName,
  removeFile,
  segmentFileName,
  writeFileAtomic,
  type FaultHooks,
} from './files.js';
import { LogLoader } from './log-loader.js';
import { O_DSYNC_AVAILABLE } from './log-segment.js';
import { StorageError } from '../errors.js';
import { PartitionLog, UNLIMITED, parseLongConfig, type JournalSlot, type LogConfig, type LogContext } from './partition-log.js';
import { MetadataStore, type CommittedEntry } from './metadata-store.js';
import { LogCleaner, type CleanOptions, type CleanResult } from './log-cleaner.js';
import { Mutex } from '../../base/mutex.js';
import { DirLock, DirLockHeldError } from '../dir-lock.js';
import { Journal, replayJournal, removeJournal, type ReplayReport, type ReplayTarget } from './journal.js';

export const STORAGE_MARKER_FILE = 'storage.json';
export const LOCK_FILE = '.lock';
export const CLEAN_SHUTDOWN_FILE = '.clean-shutdown';
const FORMAT_VERSION = 1;
/** Partitions opened at once at start-up. */
const OPEN_CONCURRENCY = 8;

export interface LogEngineOptions {
  /** Data directory (created if missing). */
  path: string;
  fsync?: FsyncPolicy;
  fsyncIntervalMs?: number;
  /** Broker-wide topic config defaults (`topic.defaults`): segment.bytes, flush.*, index.interval.bytes. */
  topicDefaults?: Readonly<Record<string, string>>;
  /** Clock (tests control segment.ms and compaction with it). */
  now?: () => number;
  /** Where recovery and failures are reported. */
  warn?: (message: string) => void;
  /** Fault injection (tests only). */
  faults?: FaultHooks;
  /** Times every fsync of a segment (the broker's metrics). */
  observer?: StorageObserver | null;
  /**
   * `storage.journal`: with `fsync: always`, appends are made durable by one shared journal's sync
   * for all partitions instead of one segment sync each (journal.ts). Off by default.
   */
  journal?: boolean;
  /** Bytes per journal file (tests make them small so the ring wraps); default JOURNAL_FILE_BYTES. */
  journalFileBytes?: number;
  /** Zero-fill a new journal's files in the background (Journal's `zeroFill`); default true. The bench compares both. */
  journalZeroFill?: boolean;
  /**
   * With `fsync: always` (and no journal): each write group goes through an O_DSYNC handle, one
   * write that is also its sync (LogContext.dsyncAppends). Default true where node:fs has O_DSYNC
   * (not on Windows); false: write, then fdatasync.
   */
  dsyncAppends?: boolean;
}

/** What `open` found: for logs and tests. */
export interface OpenReport {
  cleanShutdown: boolean;
  partitions: number;
  /** Partitions whose tail had a torn or corrupt end cut off. */
  truncatedPartitions: number;
  truncatedBytes: number;
  metadataBytesCut: number;
  /** What the journal's replay wrote back into segments; null when there was no journal. */
  journalReplay: ReplayReport | null;
  ms: number;
}


export class LogEngine implements StorageEngine, Compaction, SegmentStats {
  readonly kind: string = 'log';
  readonly durable: boolean = true;
  /** The segment log compacts (LogCleaner). */
  /**
   * Appends fail in order (PartitionLog): a failed write rejects its group and everything queued
   * behind it, a failed fsync everything not yet synced, and appends resolve in offset order.
   */
  readonly capabilities: StorageCapabilities = { compaction: this, segments: this, appendsFailInOrder: true };
  readonly dir: string;
  readonly fsync: FsyncPolicy;
  private readonly fsyncIntervalMs: number;
  private readonly topicDefaults: Readonly<Record<string, string>>;
  private readonly ctx: LogContext;
  private meta: MetadataStore;
  private readonly logs = new Map<string, PartitionLog[]>();
  private readonly topicLock = new Mutex();
  private readonly cleaner: LogCleaner;
  private timer: NodeJS.Timeout | null = null;
  /** Held from open to close (see takeLock). */
  private dirLock: DirLock | null = null;
  private ticking = false;
  private opened = false;
  private closing: Promise<void> | null = null;
  lastOpen: OpenReport | null = null;
  private readonly journalWanted: boolean;
  private readonly journalFileBytes: number | undefined;
  private readonly journalZeroFill: boolean;
  /** The shared journal while it runs (storage.journal with fsync always), else null. */
  journal: Journal | null = null;

  constructor(options: LogEngineOptions) {
    this.dir = path.resolve(options.path);
    this.fsync = options.fsync ?? 'always';
    this.fsyncIntervalMs = options.fsyncIntervalMs ?? 1000;
    this.topicDefaults = { ...kafkaTopicConfigDefaults(), ...(options.topicDefaults ?? {}) };
    const warn = options.warn ?? ((m: string) => process.stderr.write(`rafka: storage: ${m}\n`));
    this.ctx = { fsync: this.fsync, now: options.now ?? Date.now, faults: options.faults, warn, observer: options.observer ?? null, dsyncAppends: (options.dsyncAppends ?? true) && O_DSYNC_AVAILABLE };
    this.meta = new MetadataStore(this.dir, options.faults);
    this.cleaner = new LogCleaner(this.ctx);
    // The journal stands in for per-append segment syncs, which only `always` asks for.
    this.journalWanted = options.journal === true && this.fsync === 'always';
    this.journalFileBytes = options.journalFileBytes;
    this.journalZeroFill = options.journalZeroFill ?? true;
  }

  // ---- open / close ------------------------------------------------------------------------------

  async open(): Promise<BrokerMetadata> {
    if (this.opened) return this.brokerMetadata();
    try {
      return await this.doOpen();
    } catch (err) {
      // An open that failed holds nothing: the directory may be opened again (by this process too).
      await this.dirLock?.release();
      this.dirLock = null;
      throw err;
    }
  }

  private async doOpen(): Promise<BrokerMetadata> {
    const t0 = performance.now();
    await this.prepareDirectory();
    const markerFile = path.join(this.dir, CLEAN_SHUTDOWN_FILE);
    const cleanShutdown = await exists(markerFile);
    if (cleanShutdown) {
      // From now on the data may change: a crash must be treated as unclean.
      await unlink(markerFile);
      await fsyncDir(this.dir);
    }
    const metadataBytesCut = await this.meta.open();
    if (metadataBytesCut > 0) this.ctx.warn(`metadata.log: cut a torn tail of ${metadataBytesCut} bytes`);
    await this.removeStrayDirectories();
    // Before the partitions load: what the journal holds goes back into the segments, whose tails
    // are then recovered as usual. Done whether or not the switch is on now.
    const journalReplay = await replayJournal(this.dir, this.replayTarget(), this.ctx.faults);
    if (journalReplay && journalReplay.applied > 0) this.ctx.warn(`journal: replayed ${journalReplay.applied} entries (${journalReplay.bytes} bytes) into their segments`);
    const jobs: (() => Promise<void>)[] = [];
    let truncatedPartitions = 0;
    let truncatedBytes = 0;
    let partitions = 0;
    for (const topic of this.meta.state.topics.values()) {
      const logs: PartitionLog[] = new Array(topic.partitionCount);
      this.logs.set(topic.name, logs);
      for (let p = 0; p < topic.partitionCount; p++) {
        partitions++;
        jobs.push(async () => {
          const report = await LogLoader.load({
            dir: this.partitionDir(topic.name, p),
            name: `${topic.name}-${p}`,
            cleanShutdown,
            logStartOffset: this.meta.state.logStarts.get(topic.name)?.get(p) ?? 0,
            config: this.logConfig(topic),
            ctx: this.ctx,
          });
          logs[p] = report.log;
          report.log.journal = this.journalSlot(topic, p);
          if (report.truncatedBytes > 0) {
            truncatedPartitions++;
            truncatedBytes += report.truncatedBytes;
          }
        });
      }
    }
    try {
      // A new journal generation once the replay's writes are synced, before the partitions load
      // (each gets its slot in it); without the switch the journal directory goes instead.
      if (this.journalWanted) {
        this.journal = await Journal.create({ dataDir: this.dir, fileBytes: this.journalFileBytes, zeroFill: this.journalZeroFill, faults: this.ctx.faults, observer: this.ctx.observer, warn: this.ctx.warn });
      } else if (journalReplay !== null) await removeJournal(this.dir);
      await runLimited(jobs, OPEN_CONCURRENCY);
    } catch (err) {
      await this.closeLogs();
      await this.journal?.abandon();
      this.journal = null;
      throw err;
    }
    this.opened = true;
    this.startTimer();
    this.lastOpen = { cleanShutdown, partitions, truncatedPartitions, truncatedBytes, metadataBytesCut, journalReplay, ms: performance.now() - t0 };
    return this.brokerMetadata();
  }

  /** A partition's slot in the journal, or null when the journal is off. */
  private journalSlot(topic: TopicRecord, partition: number): JournalSlot | null {
    return this.journal === null ? null : { journal: this.journal, topicId: topic.id, partition };
  }

  /**
   * Where replay writes an entry: only into the last segment of a live topic's partition. An entry
   * of a deleted topic (or one deleted and created again: another id) or of a deleted segment is
   * skipped; so is one of a sealed segment, which was synced when it rolled (and may have been
   * compacted since, so writing into it would be wrong). The topics by id and each partition
   * directory's last segment are looked up once per replay.
   */
  private replayTarget(): ReplayTarget {
    const topics = new Map([...this.meta.state.topics.values()].map((t) => [t.id, t]));
    const lastSegment = new Map<string, number | null>();
    return async (topicId, partition, segmentBase) => {
      const topic = topics.get(topicId);
      if (!topic || partition >= topic.partitionCount) return null;
      const dir = this.partitionDir(topic.name, partition);
      let last = lastSegment.get(dir);
      if (last === undefined) {
        last = null;
        try {
          for (const n of await readdir(dir)) {
            const base = parseSegmentFileName(n, LOG_SUFFIX);
            if (base !== null && (last === null || base > last)) last = base;
          }
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
        lastSegment.set(dir, last);
      }
      return last === segmentBase ? path.join(dir, segmentFileName(segmentBase, LOG_SUFFIX)) : null;
    };
  }

  /** Create the directory, check it is ours and usable, take the lock. Errors say what to fix. */
  private async prepareDirectory(): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true });
      const s = await stat(this.dir);
      if (!s.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR', path: this.dir });
      const markerPath = path.join(this.dir, STORAGE_MARKER_FILE);
      let marker: { engine?: string; version?: number } | null = null;
      try {
        marker = JSON.parse(await readFile(markerPath, 'utf8')) as { engine?: string; version?: number };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      if (marker && marker.engine !== 'log') {
        throw new Error(`storage: ${this.dir} holds data of the ${String(marker.engine)} engine, not the log engine; use storage.type: ${String(marker.engine)} or another storage.path`);
      }
      if (marker && marker.version !== FORMAT_VERSION) {
        throw new Error(`storage: ${this.dir} has log format version ${String(marker.version)}; this broker reads version ${FORMAT_VERSION}`);
      }
      await this.takeLock();
      if (!marker) {
        await writeFile(markerPath, JSON.stringify({ engine: 'log', version: FORMAT_VERSION }) + '\n');
        await fsyncDir(this.dir);
      }
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code) throw new Error(`storage: cannot use data directory ${this.dir}: ${describeIoError(err)}`, { cause: err });
      throw err;
    }
  }

  /**
   * One broker per directory: a kernel-held lock (../dir-lock.ts), released when its holder dies,
   * so a restart right after `kill -9` never waits and a reused pid never blocks. `.lock` keeps the
   * holder's pid for the message.
   */
  private async takeLock(): Promise<void> {
    const lock = path.join(this.dir, LOCK_FILE);
    try {
      this.dirLock = await DirLock.acquire(this.dir);
    } catch (err) {
      if (!(err instanceof DirLockHeldError)) throw err;
      const pid = Number((await readFile(lock, 'utf8').catch(() => '')).trim());
      const holder = Number.isInteger(pid) && pid > 0 ? `pid ${pid}` : 'another process';
      throw new Error(`storage: ${this.dir} is in use by another broker (${holder}); stop it or use another storage.path`);
    }
    await writeFile(lock, String(process.pid));
  }

  /** Directories of deleted topics, and partitions no topic owns (a create or delete cut short). */
  private async removeStrayDirectories(): Promise<void> {
    const wanted = new Set<string>();
    for (const t of this.meta.state.topics.values()) for (let p = 0; p < t.partitionCount; p++) wanted.add(partitionDirName(t.name, p));
    for (const entry of await readdir(this.dir, { withFileTypes: true })) {
      if (!entry.isDirectory() || wanted.has(entry.name)) continue;
      if (entry.name.endsWith(DELETE_DIR_SUFFIX) || /-\d+$/.test(entry.name)) {
        if (!entry.name.endsWith(DELETE_DIR_SUFFIX)) this.ctx.warn(`removing ${entry.name}: no topic owns this partition directory`);
        await rm(path.join(this.dir, entry.name), { recursive: true, force: true });
      }
    }
  }

  private startTimer(): void {
    const intervalPolicy = this.fsync === 'interval';
    const period = intervalPolicy ? this.fsyncIntervalMs : 1000;
    this.timer = setInterval(() => void this.tick(intervalPolicy), period);
    this.timer.unref();
  }

  /** The interval policy and topics' flush.ms: sync what has waited long enough. */
  private async tick(intervalPolicy: boolean): Promise<void> {
    if (this.ticking || this.closing) return;
    this.ticking = true;
    try {
      const now = this.ctx.now();
      for (const logs of this.logs.values()) {
        for (const log of logs) await log.periodicFlush(now, intervalPolicy).catch(() => {});
      }
      if (intervalPolicy) await this.meta.flush().catch((err: Error) => this.ctx.warn(`metadata sync failed: ${err.message}`));
    } finally {
      this.ticking = false;
    }
  }

  close(): Promise<void> {
    if (!this.closing) this.closing = this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (!this.opened) return;
    await this.cleaner.stop();
    await this.topicLock.run(async () => {
      let clean = await this.closeLogs();
      if (this.journal) {
        // After every log synced its segment: a last checkpoint, unless a log could not close cleanly.
        try {
          if (clean) await this.journal.close();
          else await this.journal.abandon();
        } catch (err) {
          clean = false;
          this.ctx.warn(`closing the journal: ${(err as Error).message}`);
        }
      }
      await this.meta.close();
      if (clean) {
        const marker = path.join(this.dir, CLEAN_SHUTDOWN_FILE);
        const h = await open(marker, 'w');
        await h.sync();
        await h.close();
        await fsyncDir(this.dir);
      }
      await rm(path.join(this.dir, LOCK_FILE), { force: true });
      await this.dirLock?.release();
    });
  }

  /**
   * Tests only: stop as a killed process would — files closed without syncing, no indexes written,
   * no clean-shutdown marker, the `.lock` file left behind; the lock itself is released, as the
   * kernel releases it when a process dies (a new engine in this process takes it).
   */
  async simulateCrash(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.dirLock?.release();
    this.closing = Promise.resolve();
    await this.cleaner.stop();
    for (const logs of this.logs.values()) for (const log of logs) await log?.abandon();
    this.logs.clear();
    await this.journal?.abandon();
    await this.meta.abandon();
  }

  /** Close every partition; false if one could not be closed cleanly (then no marker is written). */
  private async closeLogs(): Promise<boolean> {
    let clean = true;
    const all = [...this.logs.values()].flat().filter((l): l is PartitionLog => l !== undefined);
    await runLimited(
      all.map((log) => async () => {
        try {
          await log.close();
          if (log.failed) clean = false;
        } catch (err) {
          clean = false;
          this.ctx.warn(`closing ${log.name}: ${(err as Error).message}`);
        }
      }),
      OPEN_CONCURRENCY,
    );
    this.logs.clear();
    return clean;
  }

  private brokerMetadata(): BrokerMetadata {
    const s = this.meta.state;
    return { clusterId: s.clusterId, nextProducerId: s.nextProducerId, topics: [...s.topics.values()].map(cloneTopic) };
  }

  // ---- topics ----------------------------------------------------------------------------------

  private partitionDir(topic: string, partition: number): string {
    return path.join(this.dir, partitionDirName(topic, partition));
  }

  /** The configs a topic's logs follow: its overrides, else the broker's defaults, else Kafka's. */
  private logConfig(topic: TopicRecord): LogConfig {
    const v = (name: string) => topic.configs[name] ?? this.topicDefaults[name];
    const internal = v('internal.segment.bytes');
    return {
      segmentBytes: parseLongConfig(internal !== undefined && internal !== '' ? internal : v('segment.bytes'), 1073741824),
      segmentMs: parseLongConfig(v('segment.ms'), 604800000),
      indexIntervalBytes: parseLongConfig(v('index.interval.bytes'), 4096),
      flushMessages: parseLongConfig(v('flush.messages'), UNLIMITED),
      flushMs: parseLongConfig(v('flush.ms'), UNLIMITED),
      preallocate: v('preallocate') === 'true',
    };
  }

  async createTopic(topic: TopicRecord): Promise<void> {
    await this.topicLock.run(async () => {
      const logs: PartitionLog[] = [];
      try {
        // Directories first, then the record: a crash in between leaves directories no topic owns,
        // which the next open removes.
        for (let p = 0; p < topic.partitionCount; p++) logs.push(await this.newLog(topic, p));
        await fsyncDir(this.dir);
        await this.meta.write({ t: 'topic', topic: cloneTopic(topic) }, true);
      } catch (err) {
        for (const log of logs) await log.closeForDelete().catch(() => {});
        for (let p = 0; p < logs.length; p++) await rm(this.partitionDir(topic.name, p), { recursive: true, force: true }).catch(() => {});
        throw storageFailure(`create topic ${topic.name}`, err);
      }
      this.logs.set(topic.name, logs);
    });
  }

  private async newLog(topic: TopicRecord, p: number): Promise<PartitionLog> {
    const dir = this.partitionDir(topic.name, p);
    await rm(dir, { recursive: true, force: true });
    const report = await LogLoader.load({
      dir,
      name: `${topic.name}-${p}`,
      cleanShutdown: true,
      logStartOffset: 0,
      config: this.logConfig(topic),
      ctx: this.ctx,
    });
    report.log.journal = this.journalSlot(topic, p);
    return report.log;
  }

  async updateTopic(topic: TopicRecord): Promise<void> {
    await this.topicLock.run(async () => {
      const logs = this.logs.get(topic.name);
      if (!logs) throw new Error(`updateTopic: no topic ${topic.name}`);
      const added: PartitionLog[] = [];
      try {
        for (let p = logs.length; p < topic.partitionCount; p++) added.push(await this.newLog(topic, p));
        if (added.length > 0) await fsyncDir(this.dir);
        await this.meta.write({ t: 'topic', topic: cloneTopic(topic) }, true);
      } catch (err) {
        for (const log of added) await log.closeForDelete().catch(() => {});
        throw storageFailure(`update topic ${topic.name}`, err);
      }
      logs.push(...added);
      const config = this.logConfig(topic);
      for (const log of logs) log.config = config;
    });
  }

  async deleteTopic(name: string): Promise<void> {
    await this.topicLock.run(async () => {
      const logs = this.logs.get(name) ?? [];
      // The record first: once it is synced the topic is gone, whatever happens to its files.
      await this.meta.write({ t: 'deltopic', name }, true);
      this.logs.delete(name);
      const suffix = `.${randomBytes(6).toString('hex')}${DELETE_DIR_SUFFIX}`;
      const doomed: string[] = [];
      for (let p = 0; p < logs.length; p++) {
        await logs[p]!.closeForDelete().catch(() => {});
        const dir = this.partitionDir(name, p);
        try {
          await rename(dir, dir + suffix);
          doomed.push(dir + suffix);
        } catch {
          doomed.push(dir);
        }
      }
      for (const d of doomed) await rm(d, { recursive: true, force: true }).catch((err: Error) => this.ctx.warn(`deleting ${d}: ${err.message}`));
    });
  }

  // ---- data ----------------------------------------------------------------------------------------

  private log(topic: string, partition: number): PartitionLog {
    const log = this.logs.get(topic)?.[partition];
    if (!log) throw new Error(`no partition ${topic}-${partition}`);
    return log;
  }

  append(topic: string, partition: number, batch: AppendBatch): Promise<AppendResult> {
    // Not `async`: the offset is assigned synchronously inside PartitionLog.append.
    let log: PartitionLog;
    try {
      log = this.log(topic, partition);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return log.append(batch);
  }

  async read(topic: string, partition: number, offset: number, maxBytes: number, minOneBatch: boolean): Promise<ReadResult> {
    return this.log(topic, partition).read(offset, maxBytes, minOneBatch);
  }

  offsets(topic: string, partition: number): PartitionOffsets {
    const log = this.log(topic, partition);
    return { logStartOffset: log.logStartOffset, highWatermark: log.highWatermark };
  }

  async findBatchByTimestamp(topic: string, partition: number, timestamp: number): Promise<Buffer | null> {
    return this.log(topic, partition).findBatchByTimestamp(timestamp);
  }

  async findMaxTimestampBatch(topic: string, partition: number): Promise<Buffer | null> {
    return this.log(topic, partition).findMaxTimestampBatch();
  }

  async deleteRecordsBefore(topic: string, partition: number, offset: number): Promise<number> {
    const log = this.log(topic, partition);
    // The new log start is persisted before any segment goes, so records below it never come back.
    const start = await log.deleteRecordsBefore(offset, (start) => this.meta.write({ t: 'logstart', topic, partition, offset: start }, true));
    await this.dropSnapshotsBelow(log, start);
    return start;
  }

  async applyRetention(topic: string, partition: number, policy: RetentionPolicy): Promise<number> {
    const log = this.log(topic, partition);
    const start = await log.applyRetention(policy);
    await this.dropSnapshotsBelow(log, start);
    return start;
  }

  // ---- producer-state snapshots ----------------------------------------------------------------------

  private snapshotFile(log: PartitionLog, offset: number): string {
    return path.join(log.dir, segmentFileName(offset, SNAPSHOT_SUFFIX));
  }

  /** Snapshot files go after the log start has moved: one left behind by a crash is dropped at the next move. */
  private async dropSnapshotsBelow(log: PartitionLog, logStartOffset: number): Promise<void> {
    for (const s of log.snapshots.dropBelow(logStartOffset)) await removeFile(this.snapshotFile(log, s.offset));
  }

  async writeProducerSnapshot(topic: string, partition: number, offset: number, data: Buffer): Promise<void> {
    const log = this.log(topic, partition);
    try {
      await writeFileAtomic(this.snapshotFile(log, offset), data, this.ctx.faults);
    } catch (err) {
      throw new StorageError(`producer snapshot of ${log.name} at ${offset}: ${describeIoError(err)}`, { cause: err });
    }
    if (this.logs.get(topic)?.[partition] !== log) {
      // The topic was deleted (and maybe created again under its name) meanwhile: not its snapshot.
      await removeFile(this.snapshotFile(log, offset));
      return;
    }
    for (const s of log.snapshots.add(offset, null)) await removeFile(this.snapshotFile(log, s.offset));
  }

  producerSnapshotOffsets(topic: string, partition: number): number[] {
    return this.log(topic, partition).snapshots.offsets();
  }

  async readProducerSnapshot(topic: string, partition: number, offset: number): Promise<Buffer | null> {
    const log = this.log(topic, partition);
    if (!log.snapshots.find(offset)) return null;
    try {
      return await readFile(this.snapshotFile(log, offset));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  /** Due once a segment has rolled past the newest snapshot (Kafka snapshots at every roll). */
  producerSnapshotDue(topic: string, partition: number): boolean {
    const log = this.log(topic, partition);
    return log.active.baseOffset > (log.snapshots.newest ?? 0);
  }

  sizeBytes(topic: string, partition: number): number {
    return this.log(topic, partition).sizeBytes;
  }

  segmentCount(topic: string, partition: number): number {
    return this.log(topic, partition).segments.length;
  }

  /** Compact one partition (cleanup.policy=compact): LogCleaner. */
  async compact(topic: string, partition: number, options: CleanOptions): Promise<CleanResult> {
    return this.cleaner.clean(this.log(topic, partition), options);
  }

  // ---- offsets and groups --------------------------------------------------------------------------

  private get syncMetadata(): boolean {
    return this.fsync === 'always';
  }

  async setClusterId(clusterId: string): Promise<void> {
    await this.meta.write({ t: 'cluster', id: clusterId }, true);
  }

  async setNextProducerId(next: number): Promise<void> {
    await this.meta.write({ t: 'pid', next }, true);
  }

  async commitOffsets(groupId: string, entries: GroupOffsetEntry[]): Promise<void> {
    await this.meta.write({ t: 'commit', group: groupId, entries: entries.map((e) => [e.topic, e.partition, e.committed ? copyCommitted(e.committed) : null]) }, this.syncMetadata);
  }

  fetchOffsets(groupId: string): ReadonlyMap<string, CommittedEntry> {
    return this.meta.state.offsets.get(groupId) ?? new Map();
  }

  listOffsetGroups(): string[] {
    return [...this.meta.state.offsets.keys()];
  }

  async deleteGroupOffsets(groupId: string): Promise<void> {
    await this.meta.write({ t: 'delgroupoffsets', group: groupId }, this.syncMetadata);
  }

  async putGroupMetadata(groupId: string, value: Buffer | null): Promise<void> {
    await this.meta.write({ t: 'group', group: groupId, value: value === null ? null : value.toString('base64') }, this.syncMetadata);
  }

  groupMetadata(): ReadonlyMap<string, Buffer> {
    return this.meta.state.groups;
  }

  async putTransactionState(transactionalId: string, value: Buffer | null): Promise<void> {
    await this.meta.write({ t: 'txn', id: transactionalId, value: value === null ? null : value.toString('base64') }, this.syncMetadata);
  }

  transactionStates(): ReadonlyMap<string, Buffer> {
    return this.meta.state.txnStates;
  }

  async putScramCredentials(user: string, value: Buffer | null): Promise<void> {
    await this.meta.write({ t: 'scram', user, value: value === null ? null : value.toString('base64') }, this.syncMetadata);
  }

  scramCredentials(): ReadonlyMap<string, Buffer> {
    return this.meta.state.scramUsers;
  }

  async putAclBinding(key: string, value: Buffer | null): Promise<void> {
    await this.meta.write({ t: 'acl', key, value: value === null ? null : value.toString('base64') }, this.syncMetadata);
  }

  aclBindings(): ReadonlyMap<string, Buffer> {
    return this.meta.state.acls;
  }

  async putGroupConfig(groupId: string, value: Buffer | null): Promise<void> {
    await this.meta.write({ t: 'gconf', group: groupId, value: value === null ? null : value.toString('base64') }, this.syncMetadata);
  }

  groupConfigs(): ReadonlyMap<string, Buffer> {
    return this.meta.state.groupConfigs;
  }

  async putClientQuotas(entity: string, value: Buffer | null): Promise<void> {
    await this.meta.write({ t: 'quota', entity, value: value === null ? null : value.toString('base64') }, this.syncMetadata);
  }

  clientQuotas(): ReadonlyMap<string, Buffer> {
    return this.meta.state.quotaEntities;
  }
}

function cloneTopic(t: TopicRecord): TopicRecord {
  return { name: t.name, id: t.id, partitionCount: t.partitionCount, configs: { ...t.configs } };
}

function storageFailure(what: string, err: unknown): Error {
  return new Error(`${what}: ${describeIoError(err)}`, { cause: err });
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

/** Run async jobs with at most `limit` at a time; rejects with the first failure after all settle. */
async function runLimited(jobs: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  let failure: unknown = null;
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      try {
        await job();
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  if (failure) throw failure;
}
