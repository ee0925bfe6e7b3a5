/** Log engines on temporary directories for tests, and batch builders. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LogEngine, type LogEngineOptions } from '../../src/storage/log/log-engine.js';
import type { StorageEngine } from '../../src/storage/engine.js';
import { storageConformance } from '../storage-conformance.js';
import { encodeBatch, type RecordInput } from '../../src/protocol/records/record.js';
import type { AppendBatch } from '../../src/storage/engine.js';

/** A fresh temporary directory, removed by the returned function. */
export function tempDir(prefix = 'rafka-log-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Engine options for tests: quiet, with the given overrides. */
export function logOptions(dir: string, extra: Partial<LogEngineOptions> = {}): LogEngineOptions {
  return { path: dir, warn: () => {}, ...extra };
}

/**
 * The shared conformance suite on log engines with `extra` options, each on its own temporary
 * directory (removed after the file's tests), reopened on the same directory after a clean close.
 */
export function logEngineConformance(name: string, extra: Partial<LogEngineOptions>): void {
  const dirs: (() => void)[] = [];
  storageConformance(
    name,
    async () => {
      const t = tempDir();
      dirs.push(t.remove);
      return new LogEngine(logOptions(t.dir, extra));
    },
    {
      reopen: async (engine: StorageEngine) => {
        await engine.close();
        return new LogEngine(logOptions((engine as LogEngine).dir, extra));
      },
    },
  );
  test.after(() => dirs.forEach((rm) => rm()));
}

export function newLogEngine(dir: string, extra: Partial<LogEngineOptions> = {}): LogEngine {
  return new LogEngine(logOptions(dir, extra));
}

/** An AppendBatch of `records` (what the broker hands the engine after validation). */
export async function appendBatch(records: RecordInput[], opts: { compression?: number } = {}): Promise<AppendBatch> {
  const bytes = await encodeBatch({ records, compression: opts.compression as never });
  const maxTimestamp = Math.max(...records.map((r) => r.timestamp ?? -1));
  return { bytes, recordCount: records.length, maxTimestamp };
}

/** `n` records of `size` bytes with timestamps `ts`, `ts+1`, … */
export async function valuesBatch(n: number, ts: number, size = 10, fill = 0): Promise<AppendBatch> {
  return appendBatch(Array.from({ length: n }, (_, i) => ({ value: Buffer.alloc(size, (fill + i) & 0xff), timestamp: ts + i })));
}
