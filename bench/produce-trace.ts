/**
 * Where a produce request's time goes inside the broker (issue 22), for a bench run: preload it
 * into the Rafka broker processes and read one summary per broker when they exit,
 *
 *   RAFKA_BENCH_NODE_FLAGS="--import=$PWD/dist/bench/produce-trace.js" RAFKA_BENCH_SYSTEMS=rafka-log \
 *   RAFKA_BENCH_WORKLOADS=p-1Mx100-a1-none-8p-4w RAFKA_BENCH_RUNS=1 node dist/bench/compare.js
 *
 * (`RAFKA_TRACE_DIR`, default the temp directory: `produce-trace-<pid>.txt` there). It prints the
 * event loop's utilisation each busy second (perf_hooks; on a loaded machine it counts time the
 * thread waited for a CPU as busy: the bench's main-thread CPU is the steadier figure), Produce frames from arrival (whole in the
 * connection's buffer) to handling and to their answer, produce requests in flight broker-wide, the
 * requests already read and waiting behind each Produce when it starts (a burst the client sent
 * together), and the log engine's writes (with their batches), fsyncs (with the batches written
 * since the previous one started: what one sync covers) and appends (append call to
 * acknowledgement), as percentiles. bench/ack-cycle.ts runs the Java producer with it.
 *
 * A diagnostic, not part of the broker: it wraps methods of Connection, LogSegment and PartitionLog
 * by name, private ones included, and says so when one is missing rather than failing the broker.
 * The wrappers cost a few timer reads per request; compare runs made with it only with each other.
 */
import { performance } from 'node:perf_hooks';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiKey } from '../src/protocol/messages/index.js';
import { Connection } from '../src/broker/connection.js';
import { LogSegment } from '../src/storage/log/log-segment.js';
import { PartitionLog } from '../src/storage/log/partition-log.js';
import { ProducerStateManager } from '../src/broker/producer-state.js';

type AnyFn = (this: any, ...args: any[]) => any;

const missing: string[] = [];
/** Replace `proto[name]` with `make(original)`; notes the name when the method is not there. */
function wrap(owner: string, proto: any, name: string, make: (original: AnyFn) => AnyFn): void {
  const original = proto[name];
  if (typeof original !== 'function') {
    missing.push(`${owner}.${name}`);
    return;
  }
  proto[name] = make(original);
}

const samples = {
  arrivalToHandling: [] as number[],
  arrivalToAnswer: [] as number[],
  handling: [] as number[],
  inFlight: [] as number[],
  frameBytes: [] as number[],
  queuedBehind: [] as number[],
  groupBatches: [] as number[],
  batchesPerSync: [] as number[],
  write: [] as number[],
  writeDuringOwnSync: [] as number[],
  sync: [] as number[],
  syncsAtStart: [] as number[],
  append: [] as number[],
  /** Idempotent appends (ProducerStateManager.exclusive): how long each waited before its check and append ran. */
  laneWait: [] as number[],
};
/** Idempotent appends by how they ran: nothing before them, went ahead of the one before, or waited for it. */
const lane = { alone: 0, continued: 0, waited: 0 };
const elu: number[] = [];
let last = performance.eventLoopUtilization();
setInterval(() => {
  const now = performance.eventLoopUtilization();
  elu.push(performance.eventLoopUtilization(now, last).utilization);
  last = now;
}, 1000).unref();

const arrival = new WeakMap<Buffer, number>();
const isProduce = (frame: Buffer) => frame.length >= 2 && frame.readInt16BE(0) === ApiKey.Produce;
let producing = 0;
let syncing = 0;
const ownSyncs = new WeakMap<object, number>();
const unsyncedBatches = new WeakMap<object, number>();

// A frame is cut from the connection's buffer (take) as soon as it is whole: its arrival.
wrap('Connection', Connection.prototype, 'take', (original) =>
  function (this: any, n: number) {
    const frame: Buffer = original.call(this, n);
    if (n > 4) arrival.set(frame, performance.now());
    return frame;
  },
);
wrap('Connection', Connection.prototype, 'handleFrame', (original) =>
  function (this: any, request: { frame: Buffer }, ...rest: unknown[]) {
    if (!isProduce(request.frame)) return original.call(this, request, ...rest);
    const started = performance.now();
    const arrived = arrival.get(request.frame);
    if (arrived !== undefined) samples.arrivalToHandling.push(started - arrived);
    samples.frameBytes.push(request.frame.length);
    samples.queuedBehind.push(this.queue?.length ?? NaN);
    samples.inFlight.push(++producing);
    const result: Promise<unknown> = original.call(this, request, ...rest);
    // The connection handles a rejection; this copy of it must not become an unhandled one.
    void result
      .finally(() => {
        producing--;
        samples.handling.push(performance.now() - started);
      })
      .catch(() => {});
    return result;
  },
);
wrap('Connection', Connection.prototype, 'answer', (original) =>
  function (this: any, request: { frame: Buffer }, ...rest: unknown[]) {
    const arrived = arrival.get(request.frame);
    if (arrived !== undefined && isProduce(request.frame)) samples.arrivalToAnswer.push(performance.now() - arrived);
    return original.call(this, request, ...rest);
  },
);
wrap('LogSegment', LogSegment.prototype, 'append', (original) =>
  function (this: any, ...args: unknown[]) {
    const during = (ownSyncs.get(this) ?? 0) > 0;
    const batches = (args[0] as unknown[] | undefined)?.length ?? NaN;
    samples.groupBatches.push(batches);
    unsyncedBatches.set(this, (unsyncedBatches.get(this) ?? 0) + batches);
    const started = performance.now();
    const result: Promise<void> = original.apply(this, args);
    void result.then(() => {
      const ms = performance.now() - started;
      samples.write.push(ms);
      if (during) samples.writeDuringOwnSync.push(ms);
    }, () => {});
    return result;
  },
);
wrap('LogSegment', LogSegment.prototype, 'sync', (original) =>
  function (this: any) {
    ownSyncs.set(this, (ownSyncs.get(this) ?? 0) + 1);
    samples.syncsAtStart.push(++syncing);
    // Batches written since the last sync started: what this one covers (writes still running are not counted).
    samples.batchesPerSync.push(unsyncedBatches.get(this) ?? 0);
    unsyncedBatches.set(this, 0);
    const started = performance.now();
    const result: Promise<void> = original.call(this);
    void result.finally(() => {
      syncing--;
      ownSyncs.set(this, ownSyncs.get(this)! - 1);
      samples.sync.push(performance.now() - started);
    }).catch(() => {});
    return result;
  },
);
wrap('PartitionLog', PartitionLog.prototype, 'append', (original) =>
  function (this: any, ...args: unknown[]) {
    const started = performance.now();
    const result: Promise<unknown> = original.apply(this, args);
    void result.then(() => samples.append.push(performance.now() - started), () => {});
    return result;
  },
);

// An idempotent producer's append runs after the one before it on the partition is durable, unless
// it is the exact next batch and goes ahead (pipelining): which way each ran, and its wait.
wrap('ProducerStateManager', ProducerStateManager.prototype, 'exclusive', (original) =>
  function (this: any, topic: string, partition: number, producerId: number, fn: AnyFn, continuing: unknown) {
    const called = performance.now();
    const before = this.running?.get?.(`${topic}\u0000${partition}\u0000${producerId}`) !== undefined;
    return original.call(
      this,
      topic,
      partition,
      producerId,
      function (this: unknown, slot: unknown, continued: boolean) {
        if (continued) lane.continued++;
        else if (before) lane.waited++;
        else lane.alone++;
        samples.laneWait.push(performance.now() - called);
        return fn.call(this, slot, continued);
      },
      continuing,
    );
  },
);

function percentiles(values: number[]): string {
  if (values.length === 0) return 'none';
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(2);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return `n ${values.length}, p50 ${at(0.5)}, p90 ${at(0.9)}, p99 ${at(0.99)}, mean ${mean.toFixed(2)}`;
}

process.on('exit', () => {
  const lines = [
    `broker pid ${process.pid}${missing.length > 0 ? `; NOT traced (renamed?): ${missing.join(', ')}` : ''}`,
    `event loop utilisation, each second above 2 %: ${elu.filter((u) => u > 0.02).map((u) => u.toFixed(2)).join(' ')}`,
    `Produce frame bytes: ${percentiles(samples.frameBytes)}`,
    `Produce requests in flight broker-wide (at each start): ${percentiles(samples.inFlight)}`,
    `Produce arrival to handling, ms: ${percentiles(samples.arrivalToHandling)}`,
    `requests read and waiting behind a Produce when it starts: ${percentiles(samples.queuedBehind)}`,
    `Produce handling (start to response ready), ms: ${percentiles(samples.handling)}`,
    `Produce arrival to answer, ms: ${percentiles(samples.arrivalToAnswer)}`,
    `segment writes, ms: ${percentiles(samples.write)}`,
    `  of which while the same segment's fsync ran: ${percentiles(samples.writeDuringOwnSync)}`,
    `batches per segment write: ${percentiles(samples.groupBatches)}`,
    `batches written since the previous fsync, at each fsync's start: ${percentiles(samples.batchesPerSync)}`,
    `segment fsyncs, ms: ${percentiles(samples.sync)}`,
    `fsyncs in flight (at each start): ${percentiles(samples.syncsAtStart)}`,
    `partition appends (call to acknowledgement), ms: ${percentiles(samples.append)}`,
    `idempotent appends: ${lane.alone} with none before them, ${lane.continued} went ahead of the one before, ${lane.waited} waited for it`,
    `  wait before the check and append, ms: ${percentiles(samples.laneWait)}`,
  ];
  writeFileSync(path.join(process.env.RAFKA_TRACE_DIR ?? os.tmpdir(), `produce-trace-${process.pid}.txt`), `${lines.join('\n')}\n`);
});
