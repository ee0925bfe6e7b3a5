/**
 * The part of `@nxtedition/rocksdb` (an abstract-level RocksDB binding with N-API prebuilt binaries
 * in the npm package; it ships no types) that the rocksdb engine uses.
 *
 * Behaviour relied on, checked against the pinned version's source:
 * - `batch().write()` performs the RocksDB write synchronously inside the call (errors arrive
 *   through the returned promise), so a write is visible to reads started after the call; with
 *   `{ sync: true }` the fsync happens inside the call too, on the calling thread: the binding has
 *   no asynchronous write and exposes no SyncWAL/FlushWAL (binding.cc batch_write), which is why
 *   the engine syncs RocksDB's WAL files itself;
 * - RocksDB's WAL lives in the database directory as `NNNNNN.log` (no `wal_dir` option is passed
 *   through), and is written to the file (not kept in a buffer) by every write (no
 *   `manual_wal_flush` either);
 * - `clear({ gte, lt })` without `limit` is one RocksDB DeleteRange (a range tombstone);
 * - `close()` flushes and syncs RocksDB's WAL (FlushWAL(true)) before closing.
 */
declare module '@nxtedition/rocksdb' {
  export interface RocksOpenOptions {
    createIfMissing?: boolean;
    errorIfExists?: boolean;
    /** zstd for SST files; off here: batches are stored as the producer compressed them. */
    compression?: boolean;
    /** zstd for RocksDB's WAL (default on in this binding); off here for the same reason. */
    walCompression?: boolean;
    /** Background compaction/flush threads. */
    parallelism?: number;
    infoLogLevel?: 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'header';
  }

  export interface RocksWriteOptions {
    /** fsync RocksDB's WAL before the write completes (WriteOptions.sync). */
    sync?: boolean;
  }

  export interface RocksRange {
    gt?: Buffer;
    gte?: Buffer;
    lt?: Buffer;
    lte?: Buffer;
    limit?: number;
    reverse?: boolean;
  }

  export interface RocksChainedBatch {
    put(key: Buffer, value: Buffer): this;
    del(key: Buffer): this;
    readonly length: number;
    write(options?: RocksWriteOptions): Promise<void>;
    close(): Promise<void>;
  }

  export interface RocksIterator {
    nextv(size: number): Promise<Array<[Buffer, Buffer]>>;
    close(): Promise<void>;
  }

  export class RocksLevel {
    constructor(location: string, options?: { keyEncoding?: 'buffer'; valueEncoding?: 'buffer' });
    readonly status: 'opening' | 'open' | 'closing' | 'closed';
    open(options?: RocksOpenOptions): Promise<void>;
    close(): Promise<void>;
    get(key: Buffer): Promise<Buffer>;
    getMany(keys: Buffer[]): Promise<Array<Buffer | undefined>>;
    batch(): RocksChainedBatch;
    clear(range: RocksRange): Promise<void>;
    iterator(options: RocksRange & { keys?: boolean; values?: boolean }): RocksIterator;
    /** A RocksDB property (DB::GetProperty), read synchronously from memory; '' if unknown. */
    getProperty(property: string): string;
  }
}
