/**
 * What the log engine keeps besides partition data: the cluster id, the producer id counter,
 * topics with their config overrides, log start offsets moved by DeleteRecords, committed offsets,
 * group metadata and the transaction coordinator's state. One append-only file, `metadata.log`, of checksummed records:
 *
 *   length uint32 (of the payload) | crc uint32 (CRC-32C of the payload) | payload (UTF-8 JSON)
 *
 * Opening replays it; a record whose length or CRC does not check (a torn write at a crash) ends
 * the file, and the tail is cut there. When the file grows past a few times the size of its live
 * state, it is rewritten as a snapshot of that state (temp file, fsync, rename, directory fsync), so
 * at any moment the file on disk is either the old one or the new one.
 *
 * Each change is applied to the in-memory state only after its record is written (and synced, when
 * `sync` is asked), so a failed write leaves both unchanged. Changes made while a write or fsync is
 * in flight are written together and share the next fsync (group commit). Changes that must survive
 * a power loss whatever the policy — topics, the cluster id, the producer id counter, log starts —
 * are always synced; committed offsets, group metadata and transaction state follow the engine's
 * fsync policy (as appends do).
 *
 * Callers: LogEngine only.
 */
import { open, rename, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { crc32c } from '../../protocol/records/crc32c.js';
import type { CommittedOffset, TopicRecord } from '../engine.js';
import { copyCommitted, offsetKey } from '../engine.js';
import { fsyncDir, readAt, removeFile, writeFully, type FaultHooks } from './files.js';
import { MAX_METADATA_RECORD_BYTES } from '../../base/limits.js';

export const METADATA_FILE = 'metadata.log';
const RECORD_HEADER_BYTES = 8;
export { MAX_METADATA_RECORD_BYTES };
/** Rewrite the file when it is this many times larger than a snapshot of the live state... */
const COMPACT_RATIO = 4;
/** ...and at least this large. */
const COMPACT_MIN_BYTES = 1024 * 1024;

export type CommittedEntry = CommittedOffset & { topic: string; partition: number };

/** The records of metadata.log. */
export type MetadataRecord =
  | { t: 'cluster'; id: string }
  | { t: 'pid'; next: number }
  | { t: 'topic'; topic: TopicRecord }
  | { t: 'deltopic'; name: string }
  | { t: 'logstart'; topic: string; partition: number; offset: number }
  | { t: 'commit'; group: string; entries: [string, number, CommittedOffset | null][] }
  | { t: 'delgroupoffsets'; group: string }
  | { t: 'group'; group: string; value: string | null }
  | { t: 'txn'; id: string; value: string | null }
  | { t: 'scram'; user: string; value: string | null }
  | { t: 'acl'; key: string; value: string | null }
  | { t: 'gconf'; group: string; value: string | null }
  | { t: 'quota'; entity: string; value: string | null };

export class MetadataState {
  clusterId: string | null = null;
  nextProducerId = 0;
  readonly topics = new Map<string, TopicRecord>();
  /** Per topic, partition → log start offset. */
  readonly logStarts = new Map<string, Map<number, number>>();
  readonly offsets = new Map<string, Map<string, CommittedEntry>>();
  readonly groups = new Map<string, Buffer>();
  /** Transaction coordinator state by transactional id (opaque to the engine). */
  readonly txnStates = new Map<string, Buffer>();
  /** SCRAM credentials by user name (opaque to the engine). */
  readonly scramUsers = new Map<string, Buffer>();
  /** ACL bindings by key (opaque to the engine). */
  readonly acls = new Map<string, Buffer>();
  readonly groupConfigs = new Map<string, Buffer>();
  /** Client quotas by quota entity key (opaque to the engine). */
  readonly quotaEntities = new Map<string, Buffer>();

  apply(r: MetadataRecord): void {
    switch (r.t) {
      case 'cluster':
        this.clusterId = r.id;
        break;
      case 'pid':
        this.nextProducerId = r.next;
        break;
      case 'topic':
        this.topics.set(r.topic.name, r.topic);
        break;
      case 'deltopic':
        this.topics.delete(r.name);
        this.logStarts.delete(r.name);
        for (const [group, offsets] of this.offsets) {
          for (const [k, v] of offsets) if (v.topic === r.name) offsets.delete(k);
          if (offsets.size === 0) this.offsets.delete(group);
        }
        break;
      case 'logstart': {
        let m = this.logStarts.get(r.topic);
        if (!m) this.logStarts.set(r.topic, (m = new Map()));
        m.set(r.partition, r.offset);
        break;
      }
      case 'commit': {
        let m = this.offsets.get(r.group);
        if (!m) this.offsets.set(r.group, (m = new Map()));
        for (const [topic, partition, c] of r.entries) {
          const k = offsetKey(topic, partition);
          if (c === null) m.delete(k);
          else m.set(k, { ...c, topic, partition });
        }
        if (m.size === 0) this.offsets.delete(r.group);
        break;
      }
      case 'delgroupoffsets':
        this.offsets.delete(r.group);
        break;
      case 'group':
        if (r.value === null) this.groups.delete(r.group);
        else this.groups.set(r.group, Buffer.from(r.value, 'base64'));
        break;
      case 'txn':
        if (r.value === null) this.txnStates.delete(r.id);
        else this.txnStates.set(r.id, Buffer.from(r.value, 'base64'));
        break;
      case 'scram':
        if (r.value === null) this.scramUsers.delete(r.user);
        else this.scramUsers.set(r.user, Buffer.from(r.value, 'base64'));
        break;
      case 'acl':
        if (r.value === null) this.acls.delete(r.key);
        else this.acls.set(r.key, Buffer.from(r.value, 'base64'));
        break;
      case 'gconf':
        if (r.value === null) this.groupConfigs.delete(r.group);
        else this.groupConfigs.set(r.group, Buffer.from(r.value, 'base64'));
        break;
      case 'quota':
        if (r.value === null) this.quotaEntities.delete(r.entity);
        else this.quotaEntities.set(r.entity, Buffer.from(r.value, 'base64'));
        break;
    }
  }

  /** The state as a list of records that rebuild it. */
  snapshot(): MetadataRecord[] {
    const out: MetadataRecord[] = [];
    if (this.clusterId !== null) out.push({ t: 'cluster', id: this.clusterId });
    out.push({ t: 'pid', next: this.nextProducerId });
    for (const topic of this.topics.values()) out.push({ t: 'topic', topic });
    for (const [topic, m] of this.logStarts) for (const [partition, offset] of m) out.push({ t: 'logstart', topic, partition, offset });
    for (const [group, m] of this.offsets) {
      out.push({ t: 'commit', group, entries: [...m.values()].map((e) => [e.topic, e.partition, copyCommitted(e)]) });
    }
    for (const [group, v] of this.groups) out.push({ t: 'group', group, value: v.toString('base64') });
    for (const [id, v] of this.txnStates) out.push({ t: 'txn', id, value: v.toString('base64') });
    for (const [user, v] of this.scramUsers) out.push({ t: 'scram', user, value: v.toString('base64') });
    for (const [key, v] of this.acls) out.push({ t: 'acl', key, value: v.toString('base64') });
    for (const [group, v] of this.groupConfigs) out.push({ t: 'gconf', group, value: v.toString('base64') });
    for (const [entity, v] of this.quotaEntities) out.push({ t: 'quota', entity, value: v.toString('base64') });
    return out;
  }
}

export function encodeRecord(r: MetadataRecord): Buffer {
  const payload = Buffer.from(JSON.stringify(r), 'utf8');
  if (payload.length > MAX_METADATA_RECORD_BYTES) throw new RangeError(`metadata record of ${payload.length} bytes exceeds ${MAX_METADATA_RECORD_BYTES}`);
  const out = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.writeUInt32BE(crc32c(payload) >>> 0, 4);
  payload.copy(out, RECORD_HEADER_BYTES);
  return out;
}

/** Decode the valid prefix of a metadata file; `validBytes` is where a torn or corrupt tail starts. */
export function decodeRecords(data: Buffer): { records: MetadataRecord[]; validBytes: number } {
  const records: MetadataRecord[] = [];
  let pos = 0;
  while (pos + RECORD_HEADER_BYTES <= data.length) {
    const len = data.readUInt32BE(pos);
    if (len > MAX_METADATA_RECORD_BYTES || pos + RECORD_HEADER_BYTES + len > data.length) break;
    const payload = data.subarray(pos + RECORD_HEADER_BYTES, pos + RECORD_HEADER_BYTES + len);
    if ((crc32c(payload) >>> 0) !== data.readUInt32BE(pos + 4)) break;
    let r: MetadataRecord;
    try {
      r = JSON.parse(payload.toString('utf8')) as MetadataRecord;
    } catch {
      break;
    }
    records.push(r);
    pos += RECORD_HEADER_BYTES + len;
  }
  return { records, validBytes: pos };
}

interface PendingWrite {
  record: MetadataRecord;
  bytes: Buffer;
  sync: boolean;
  resolve(): void;
  reject(e: Error): void;
}

export class MetadataStore {
  readonly state = new MetadataState();
  private handle: FileHandle | null = null;
  private size = 0;
  private pending: PendingWrite[] = [];
  private draining: Promise<void> | null = null;
  /** Size of the last snapshot written (or of the file at open): the base of the compaction rule. */
  private liveBytes = 0;
  private readonly file: string;

  constructor(
    private readonly dir: string,
    private readonly faults?: FaultHooks,
  ) {
    this.file = path.join(dir, METADATA_FILE);
  }

  /** Replay the file (creating it if absent); returns how many torn bytes were cut from its end. */
  async open(): Promise<number> {
    const h = await open(this.file, 'a+');
    let cut = 0;
    try {
      const size = (await h.stat()).size;
      const data = await readAt(h, 0, size);
      const { records, validBytes } = decodeRecords(data);
      for (const r of records) this.state.apply(r);
      if (validBytes < size) {
        await h.truncate(validBytes);
        await h.datasync();
        cut = size - validBytes;
      }
      this.size = validBytes;
    } catch (err) {
      await h.close();
      throw err;
    }
    await h.close();
    // Positional writes need a handle not opened for append.
    this.handle = await open(this.file, 'r+');
    this.liveBytes = this.size;
    return cut;
  }

  /** Append a change; resolves once written (and synced when `sync`), after which it is applied. */
  write(record: MetadataRecord, sync: boolean): Promise<void> {
    if (!this.handle) return Promise.reject(new Error('metadata store is closed'));
    let bytes: Buffer;
    try {
      bytes = encodeRecord(record);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return new Promise((resolve, reject) => {
      this.pending.push({ record, bytes, sync, resolve, reject });
      this.kick();
    });
  }

  /** Start draining unless it runs; re-checks after stopping (a write may slip in meanwhile). */
  private kick(): void {
    if (this.draining) return;
    this.draining = (async () => {
      try {
        await this.drain();
      } finally {
        this.draining = null;
        if (this.pending.length > 0 && this.handle) this.kick();
      }
    })();
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const group = this.pending;
      this.pending = [];
      const h = this.handle!;
      const data = Buffer.concat(group.map((p) => p.bytes));
      try {
        this.faults?.beforeWrite?.(this.file, data.length);
        await writeFully(h, data, this.size);
        if (group.some((p) => p.sync)) {
          this.faults?.beforeSync?.(this.file);
          await h.datasync();
        }
      } catch (err) {
        await h.truncate(this.size).catch(() => {});
        for (const p of group) p.reject(err as Error);
        continue;
      }
      this.size += data.length;
      for (const p of group) {
        this.state.apply(p.record);
        p.resolve();
      }
      if (this.size > COMPACT_MIN_BYTES && this.size > COMPACT_RATIO * Math.max(this.liveBytes, 1)) {
        await this.compact().catch(() => {}); // keeps the old file: nothing lost, retried on the next write
      }
    }
  }

  /** Rewrite the file as a snapshot of the live state. Runs inside drain (no write in between). */
  private async compact(): Promise<void> {
    const data = Buffer.concat(this.state.snapshot().map(encodeRecord));
    const tmp = this.file + '.tmp';
    // The new handle is opened on the temp file: after the rename it is the metadata file.
    const h = await open(tmp, 'w+');
    try {
      this.faults?.beforeWrite?.(tmp, data.length);
      await writeFully(h, data, 0);
      await h.datasync();
      await rename(tmp, this.file);
    } catch (err) {
      await h.close();
      await removeFile(tmp);
      throw err;
    }
    const old = this.handle!;
    this.handle = h;
    this.size = data.length;
    this.liveBytes = data.length;
    await old.close().catch(() => {});
    await fsyncDir(this.dir);
  }

  /** Wait for pending writes, sync and close. */
  async close(): Promise<void> {
    while (this.draining) await this.draining;
    const h = this.handle;
    this.handle = null;
    if (h) {
      try {
        await h.datasync();
      } finally {
        await h.close();
      }
    }
  }

  /** Tests only (LogEngine.simulateCrash): close without syncing. */
  async abandon(): Promise<void> {
    while (this.draining) await this.draining;
    const h = this.handle;
    this.handle = null;
    await h?.close();
  }

  /** Sync whatever was written without a sync (the interval policy's timer). */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
    if (this.handle) await this.handle.datasync();
  }
}
