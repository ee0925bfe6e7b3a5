/**
 * What the metrics endpoint costs a broker that is never scraped, counted in instructions rather
 * than timed (issue 21; bench/README.md, "Session 12"). On this 2-vCPU machine two fresh broker
 * processes differ by several percent in CPU per record, more than the cost looked for; valgrind's
 * callgrind counts the instructions each executes, which do not depend on the scheduler.
 *
 * `node dist/bench/gc-instructions.js [rounds] [label]` (valgrind on PATH): per round, one broker with
 * metrics off and one with the HTTP endpoint on (order alternating), each run under callgrind, warmed
 * up (WARM_UP_RECORDS, and the metrics-on one scraped SCRAPES_AFTER_WARM_UP times, as a broker that
 * has been scraped), then the counters zeroed, MEASURED_RECORDS produced by the row's own wire load
 * (1 KiB records, 100 to a batch, 4 connections × 8 in flight, 4 partitions; memory engine), and the
 * counters dumped. Each dump is split into V8's garbage collector (marking, sweeping, scavenging,
 * evacuation), its optimizing compilers (what the JIT still compiles differs from run to run) and
 * everything else, over all threads and for the main thread alone (one dump file per thread: the
 * main thread's "everything else" is the request path and the event loop, without the helper
 * threads' GC work — but with the JIT code's marking barriers, which run while incremental marking
 * does, so it too grows with the mark-compacts in the window: compare it between rounds with as
 * many), with the number of mark-compacts in the window; prints a table and writes
 * bench/results/gc-instructions-DATE[-LABEL].json (never over an earlier file: a number is added).
 *
 * Not part of `npm run bench`: a broker under callgrind runs about 100 times slower (one round takes
 * about a minute), and valgrind is not a dependency.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeBatch } from '../src/protocol/records/record.js';
import { createBenchTopic, pipelinedProduce } from './wire-load.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROUNDS = Number(process.argv[2] ?? 3);
/** Added to the results file's name (e.g. the Node version or the change measured). */
const LABEL = process.argv[3];
/** Records produced before the counters are zeroed: enough for the produce path to be compiled. */
const WARM_UP_RECORDS = 100_000;
/** Records produced while counting: about five mark-compacts of a memory-engine broker. */
const MEASURED_RECORDS = 50_000;
/** Scrapes of the metrics-on broker after its warm-up, before counting: a broker that has been scraped. */
const SCRAPES_AFTER_WARM_UP = 3;
const RECORD_BYTES = 1024;
const RECORDS_PER_BATCH = 100;
const CONNECTIONS = 4;
const PIPELINE = 8;
const PARTITIONS = 4;

type Side = 'off' | 'on';

interface Counted {
  side: Side;
  round: number;
  /** Instructions of the counted window, in millions, by part. */
  gc: number;
  compiler: number;
  other: number;
  /** The broker's main thread alone: what is neither GC nor compilers (the request path, the event loop), and its GC. */
  mainOther: number;
  mainGc: number;
  markCompacts: number;
}

/** Which part of the process a function (as callgrind names it) belongs to. */
function part(fn: string): 'gc' | 'compiler' | 'other' {
  if (/v8::internal::(compiler|maglev|baseline)::|Maglev|Turboshaft|OptimizedCompilationJob|TurbofanCompilationJob/.test(fn)) return 'compiler';
  if (
    /v8::internal::.*(Marking|MarkCompact|Mark[A-Z]|Sweep|Scaveng|Evacuat|RememberedSet|SlotSet|ArrayBufferSweeper|Ephemeron|FreeList|GCTracer|MinorMC|YoungGeneration|ConcurrentMarking|IncrementalMarking|Heap::|MemoryChunk|MemoryAllocator|PagedSpace|Page::)/.test(fn) ||
    /MemoryChunkData/.test(fn)
  ) {
    return 'gc';
  }
  return 'other';
}

/**
 * Self cost (Ir) per function name and the calls made to each, from a callgrind output file with
 * name compression (`fn=(id) name` the first time, `fn=(id)` after). The cost line right after a
 * `calls=` line is the call's inclusive cost, counted to the caller's calls, not to its self cost.
 */
function readCallgrind(file: string): { self: Map<string, number>; calls: Map<string, number> } {
  const names = new Map<string, string>();
  const self = new Map<string, number>();
  const calls = new Map<string, number>();
  const name = (ref: string): string => {
    const m = /^\((\d+)\)(?: (.*))?$/.exec(ref);
    if (m === null) return ref;
    if (m[2] !== undefined) names.set(m[1]!, m[2]);
    return names.get(m[1]!) ?? ref;
  };
  let fn = '';
  let callee = '';
  let callCostNext = false;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('fn=')) fn = name(line.slice(3));
    else if (line.startsWith('cfn=')) callee = name(line.slice(4));
    else if (line.startsWith('calls=')) {
      calls.set(callee, (calls.get(callee) ?? 0) + Number(line.slice(6).split(' ')[0]));
      callCostNext = true;
    } else if (/^[+\-*0-9]/.test(line)) {
      const cost = Number(line.trim().split(/\s+/)[1] ?? 0);
      if (callCostNext) callCostNext = false;
      else self.set(fn, (self.get(fn) ?? 0) + cost);
    }
  }
  return { self, calls };
}

async function countOne(side: Side, round: number, dir: string, batch: Buffer): Promise<Counted> {
  const out = path.join(dir, `${side}-${round}.out`);
  const child: ChildProcess = spawn(
    'valgrind',
    ['--tool=callgrind', `--callgrind-out-file=${out}`, '--separate-threads=yes', '--dump-instr=no', process.execPath, path.join(here, 'broker-process.js'), ...(side === 'on' ? ['--metrics'] : [])],
    { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  try {
    const started = await new Promise<{ port: number; httpUrl: string | null }>((resolve, reject) => {
      child.once('message', (m: any) => resolve(m));
      child.once('exit', (code) => reject(new Error(`broker under valgrind exited with ${code}: ${stderr}`)));
    });
    const load = (topic: string, records: number) =>
      pipelinedProduce(started.port, { topic, partitions: PARTITIONS, batch, connections: CONNECTIONS, pipeline: PIPELINE, batchesPerConnection: records / RECORDS_PER_BATCH / CONNECTIONS, timeoutMs: 300_000 });
    await createBenchTopic(started.port, 'warm-up', PARTITIONS);
    await load('warm-up', WARM_UP_RECORDS);
    if (started.httpUrl !== null) for (let i = 0; i < SCRAPES_AFTER_WARM_UP; i++) await (await fetch(`${started.httpUrl}/metrics`)).text();
    await createBenchTopic(started.port, 'measured', PARTITIONS);
    // valgrind runs the program in its own process: the child's pid is the broker's.
    execFileSync('callgrind_control', ['-z', String(child.pid)], { stdio: 'ignore' });
    await load('measured', MEASURED_RECORDS);
    execFileSync('callgrind_control', ['-d', 'measured', String(child.pid)], { stdio: 'ignore' });
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  }
  // One file per thread (`--separate-threads`): `.1-01` is the main thread, the others V8's helper
  // threads (concurrent marking, sweeping, compiling), libuv's pool and, metrics on, the HTTP endpoint's worker.
  const parts = { gc: 0, compiler: 0, other: 0 };
  const main = { gc: 0, compiler: 0, other: 0 };
  let markCompacts = 0;
  for (const f of readdirSync(dir).filter((f) => f.startsWith(`${path.basename(out)}.1-`))) {
    const { self, calls } = readCallgrind(path.join(dir, f));
    const isMain = f.endsWith('.1-01');
    for (const [fn, ir] of self) {
      parts[part(fn)] += ir;
      if (isMain) main[part(fn)] += ir;
    }
    for (const [fn, n] of calls) if (fn.includes('MarkCompactCollector::CollectGarbage()')) markCompacts += n;
  }
  return { side, round, gc: parts.gc / 1e6, compiler: parts.compiler / 1e6, other: parts.other / 1e6, mainOther: main.other / 1e6, mainGc: main.gc / 1e6, markCompacts };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function main(): Promise<void> {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
  } catch {
    console.error('gc-instructions: valgrind is not on PATH (apt-get install -y valgrind)');
    process.exit(2);
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'rafka-gc-instructions-'));
  const batch = await encodeBatch({ records: Array.from({ length: RECORDS_PER_BATCH }, (_, i) => ({ value: Buffer.alloc(RECORD_BYTES, i) })) });
  const counted: Counted[] = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const side of (round % 2 === 1 ? ['off', 'on'] : ['on', 'off']) as Side[]) {
        const c = await countOne(side, round, dir, batch);
        counted.push(c);
        console.error(`gc-instructions: round ${round}/${ROUNDS}, metrics ${side}: ${c.markCompacts} mark-compacts, GC ${c.gc.toFixed(1)} M, other ${c.other.toFixed(1)} M instructions`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const perRecord = (m: number) => ((m * 1e6) / MEASURED_RECORDS).toFixed(0);
  console.log(`\nInstructions of a memory-engine broker producing ${MEASURED_RECORDS} records of ${RECORD_BYTES} B (after ${WARM_UP_RECORDS} of warm-up), never scraped while counted; millions:\n`);
  console.log('| metrics | round | mark-compacts | GC | GC per mark-compact | compilers | everything else | else per record | main thread: GC | main thread: else | per record |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const c of counted) {
    console.log(
      `| ${c.side} | ${c.round} | ${c.markCompacts} | ${c.gc.toFixed(1)} | ${c.markCompacts > 0 ? (c.gc / c.markCompacts).toFixed(1) : '–'} | ${c.compiler.toFixed(1)} | ${c.other.toFixed(1)} | ${perRecord(c.other)} | ` +
        `${c.mainGc.toFixed(1)} | ${c.mainOther.toFixed(1)} | ${perRecord(c.mainOther)} |`,
    );
  }
  const of = (side: Side, f: (c: Counted) => number) => median(counted.filter((c) => c.side === side).map(f));
  const gcPerMc = (c: Counted) => c.gc / Math.max(1, c.markCompacts);
  const summary = {
    gcPerMarkCompact: { off: of('off', gcPerMc), on: of('on', gcPerMc) },
    markCompacts: { off: of('off', (c) => c.markCompacts), on: of('on', (c) => c.markCompacts) },
    gc: { off: of('off', (c) => c.gc), on: of('on', (c) => c.gc) },
    other: { off: of('off', (c) => c.other), on: of('on', (c) => c.other) },
    mainOther: { off: of('off', (c) => c.mainOther), on: of('on', (c) => c.mainOther) },
  };
  const change = (x: { off: number; on: number }) => `${x.on >= x.off ? '+' : ''}${(((x.on - x.off) / x.off) * 100).toFixed(1)} %`;
  console.log(
    `\nmedians, on against off: GC per mark-compact ${summary.gcPerMarkCompact.off.toFixed(1)} → ${summary.gcPerMarkCompact.on.toFixed(1)} M (${change(summary.gcPerMarkCompact)}), ` +
      `mark-compacts ${summary.markCompacts.off} → ${summary.markCompacts.on}, GC ${change(summary.gc)}, everything but GC and compilers ${change(summary.other)}, ` +
      `the main thread's but GC and compilers ${change(summary.mainOther)}`,
  );
  const results = path.join(here, '..', '..', 'bench', 'results');
  mkdirSync(results, { recursive: true });
  const stem = `gc-instructions-${new Date().toISOString().slice(0, 10)}${LABEL === undefined ? '' : `-${LABEL.replace(/[^\w.-]/g, '_')}`}`;
  let file = path.join(results, `${stem}.json`);
  for (let n = 2; existsSync(file); n++) file = path.join(results, `${stem}-${n}.json`);
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), node: process.version, measuredRecords: MEASURED_RECORDS, warmUpRecords: WARM_UP_RECORDS, counted, summary }, null, 2) + '\n');
  console.log(`written to ${path.relative(process.cwd(), file)}`);
}

await main();
