/**
 * The broker's side of the exposition worker (exposition-worker.ts), for BrokerMetrics.scrape() and
 * text(): a scrape's figures, gathered on the broker's event loop as plain data (families.ts), go to a
 * worker thread that writes them in Prometheus's text format with prom-client, and the text comes
 * back. prom-client, its registry and the code of its scrape path then live in the worker's isolate,
 * not in the broker's, whose every mark-compact walks its whole live heap (bench/README.md, "Session
 * 13"). The HTTP endpoint does not come here: its own worker writes /metrics (../http/front-worker.ts).
 *
 * One worker per process, started at the first call and kept; it keeps the process alive only while
 * a call waits on it. A worker that fails or stops answering fails the calls waiting on it and the
 * next call starts a new one.
 */
import { createRequire } from 'node:module';
import type workerThreads from 'node:worker_threads';
import type { MetricFamily } from './families.js';

// require(), not import: an ESM import of a built-in reads every one of its exports (see server.ts).
const { Worker } = createRequire(import.meta.url)('node:worker_threads') as typeof workerThreads;

/** A scrape waits this long for its text; past it the worker is taken as stuck and replaced. */
export const EXPOSITION_TIMEOUT_MS = 10_000;
/** Calls waiting on the worker at most. */
export const EXPOSITION_MAX_PENDING = 64;

export interface Exposition {
  text: string;
  contentType: string;
}

interface Waiting {
  resolve: (e: Exposition) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

type Reply = { id: number; text: string; contentType: string } | { id: number; error: string };

class ExpositionWorker {
  private worker: workerThreads.Worker | null = null;
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();

  /** `families` in the text format, with the process-wide series after them. */
  render(families: readonly MetricFamily[]): Promise<Exposition> {
    if (this.waiting.size >= EXPOSITION_MAX_PENDING) return Promise.reject(new Error(`${EXPOSITION_MAX_PENDING} scrapes already wait for the exposition worker`));
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    return new Promise<Exposition>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(worker, new Error(`the exposition worker did not answer within ${EXPOSITION_TIMEOUT_MS} ms`));
        void worker.terminate();
      }, EXPOSITION_TIMEOUT_MS);
      this.waiting.set(id, { resolve, reject, timer });
      worker.ref();
      try {
        worker.postMessage({ id, families });
      } catch (err) {
        // Figures that cannot be copied to the worker (a bug): this scrape fails, the worker stays.
        this.waiting.delete(id);
        clearTimeout(timer);
        if (this.waiting.size === 0) worker.unref();
        reject(err as Error);
      }
    });
  }

  /** Whether a worker is up (tests). */
  get running(): boolean {
    return this.worker !== null;
  }

  /** End the worker (tests); the next call starts another. */
  async stop(): Promise<void> {
    const worker = this.worker;
    if (worker === null) return;
    this.fail(worker, new Error('the exposition worker was stopped'));
    await worker.terminate();
  }

  private start(): workerThreads.Worker {
    // None of the broker's Node flags: the worker needs plain Node, and some flags are refused in a
    // worker (`--input-type`, which a broker started from `node -e` carries).
    const worker = new Worker(new URL('./exposition-worker.js', import.meta.url), { execArgv: [] });
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const w = this.waiting.get(reply.id);
      if (w === undefined) return;
      this.waiting.delete(reply.id);
      clearTimeout(w.timer);
      if (this.waiting.size === 0) worker.unref();
      if ('error' in reply) w.reject(new Error(`exposition worker: ${reply.error}`));
      else w.resolve({ text: reply.text, contentType: reply.contentType });
    });
    worker.on('error', (err) => this.fail(worker, new Error(`exposition worker: ${err.message}`)));
    worker.on('exit', (code) => this.fail(worker, new Error(`the exposition worker exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }

  /** `worker` is done with: every scrape waiting on it fails with `err`, and the next one starts another. */
  private fail(worker: workerThreads.Worker, err: Error): void {
    if (this.worker !== worker) return;
    this.worker = null;
    for (const w of this.waiting.values()) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.waiting.clear();
  }
}

export const exposition = new ExpositionWorker();
