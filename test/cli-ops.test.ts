/**
 * The operations commands of `rafka` (topics, produce, consume, groups, configs, cluster,
 * transactions, producers), spawned as users run them, against a live Rafka broker: what they
 * print (tables, JSON), their exit codes, bad usage (exit 2, one line), an unreachable broker
 * (exit 1, one line, within seconds) and a broker's refusal (exit 1, one line naming Kafka's error).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { RunningBroker } from '../src/broker/index.js';
import { Consumer } from '../src/client/index.js';
import { testBroker } from './helpers/broker.js';
import { spawn } from 'node:child_process';
import { BIN, cliEnv, fails, ok, okJson, rafka } from './helpers/cli.js';
import { compileFormat, parseStart } from '../src/cli/ops/consume.js';
import { renderTable } from '../src/cli/ops/common.js';

/** A port nothing listens on: bound once, then closed. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

interface Row {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: { key: string; value: string | null }[];
}

const jsonLines = (text: string): Row[] => text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Row);

test('output pieces: kcat templates, start offsets, tables for a terminal and for a pipe', () => {
  const m = { topic: 't', partition: 2, offset: 7, timestamp: 1000, key: Buffer.from('k'), value: Buffer.from([0xff, 0x41]), headers: [{ key: 'a', value: Buffer.from('1') }, { key: 'b', value: null }] };
  assert.deepEqual(compileFormat('%t %p %o %T %k %K %S %h 100%% \\x41\\t|%s\\n')(m), Buffer.concat([Buffer.from('t 2 7 1000 k 1 2 a=1,b= 100% A\t|'), Buffer.from([0xff, 0x41]), Buffer.from('\n')]));
  assert.equal(compileFormat('%k|%K|%s|%S')({ ...m, key: null, value: null, headers: [] }).toString(), '|-1||-1');
  assert.throws(() => compileFormat('50%'), /lone %/);
  assert.deepEqual(['beginning', 'end', 'stored', '42', '-3', 's@1700000000000'].map(parseStart), [
    { kind: 'beginning' }, { kind: 'end' }, { kind: 'stored' }, { kind: 'absolute', offset: 42 }, { kind: 'relative', back: 3 }, { kind: 'timestamp', ms: 1700000000000 },
  ]);
  assert.throws(() => parseStart('e@5'), /must be beginning, end, stored/);
  assert.equal(renderTable(['A', 'LONGER'], [['x', 1], [null, 'yy']], false), 'A  LONGER\nx  1\n-  yy\n');
  const boxed = renderTable(['A', 'B'], [['x', 1]], true);
  assert.match(boxed, /^┌───┬───┐\n│ A │ B │\n├───┼───┤\n│ x │ 1 │\n└───┴───┘\n$/);
  assert.doesNotMatch(boxed, /\u001b\[/, 'no colour codes');
});

describe('usage errors: exit 2 and one line, before any connection', () => {
  const cases: [string[], RegExp][] = [
    [['topics', 'list', '--bogus'], /^rafka topics list: unknown option '--bogus' \(see rafka topics list --help\)$/],
    [['topics'], /^rafka topics: missing command \(one of list, describe, create, delete, alter\)/],
    [['topics', 'frob'], /^rafka topics: unknown command "frob"/],
    [['produce'], /^rafka produce: missing required argument 'topic'/],
    [['consume', 't', '-o', 'nowhere'], /^rafka consume: option '-o, --offset <where>' argument 'nowhere' is invalid\. must be beginning, end, stored/],
    [['consume', 't', '-c', '0'], /^rafka consume: .*-c, --count.* must be between 1 and/],
    [['consume', 't', '-f', '%q'], /unknown format token %q/],
    [['consume', 't', '-o', '5', '-g', 'g'], /^rafka consume: with -g, -o takes beginning, end or stored/],
    [['consume', 't', '-o', 'stored'], /^rafka consume: -o stored needs a group \(-g\)/],
    [['produce', 't', '--acks', '2'], /--acks <acks>.* must be 0, 1 or all/],
    [['produce', 't', '--compression', 'brotli'], /must be none, gzip, snappy, lz4 or zstd/],
    [['topics', 'create', 't', '-p', 'x'], /-p, --partitions <n>.* must be an integer \(got "x"\)/],
    [['topics', 'alter', 't'], /^rafka topics alter: nothing to alter/],
    [['groups', 'reset-offsets', 'g', '--topic', 't'], /^rafka groups reset-offsets: give exactly one of --to-earliest/],
    [['groups', 'reset-offsets', 'g', '--to-earliest'], /give --topic \(repeatable\) or --all-topics/],
    [['configs', 'get', 'cluster', 'x'], /value 'cluster' is invalid for argument 'type'\. must be topic, broker or group/],
    [['configs', 'set', 'topic', 't', 'novalue'], /expected NAME=VALUE \(got "novalue"\)/],
    [['producers', 'describe', 't:x'], /expected TOPIC or TOPIC:PARTITION/],
    [['transactions', 'list', '--duration-ms', '-5'], /--duration-ms <ms>.* must be between 0 and/],
    [['consume', 't', '--isolation', 'serializable'], /'--isolation <level>' argument 'serializable' is invalid\. Allowed choices are read_uncommitted, read_committed\./],
  ];
  for (const [args, message] of cases) {
    test(`rafka ${args.join(' ')}`, async () => {
      const r = await fails(null, args, 2, message);
      assert.equal(r.stdout, '');
    });
  }
});

test('--help of every command prints its usage and exits 0', async () => {
  const commands = [
    ['topics'], ['topics', 'list'], ['topics', 'describe'], ['topics', 'create'], ['topics', 'delete'], ['topics', 'alter'],
    ['produce'], ['consume'],
    ['groups'], ['groups', 'list'], ['groups', 'describe'], ['groups', 'reset-offsets'], ['groups', 'delete'],
    ['configs', 'get'], ['configs', 'set'], ['cluster'], ['transactions', 'list'], ['transactions', 'describe'], ['producers', 'describe'],
  ];
  for (const c of commands) {
    const r = await rafka([...c, '--help']);
    assert.equal(r.code, 0, `${c.join(' ')} --help: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^Usage: rafka ${c.join(' ')} `), c.join(' '));
    if (c.length === 2 || ['produce', 'consume', 'cluster'].includes(c[0]!)) assert.match(r.stdout, /-b, --bootstrap/, c.join(' '));
  }
  const consume = await rafka(['consume', '--help']);
  for (const flag of ['-o, --offset', '-g, --group', '-c, --count', '-e, --exit', '-f, --format', '--json', '--isolation']) assert.ok(consume.stdout.includes(flag), flag);
  const produce = await rafka(['help', 'produce']);
  assert.equal(produce.code, 0);
  for (const flag of ['--file', '-k, --key-separator', '-H, --header', '--acks', '--compression', '--json']) assert.ok(produce.stdout.includes(flag), flag);
  // The top-level usage names the commands.
  const top = await rafka(['--help']);
  assert.match(top.stdout, /rafka topics list\|describe\|create\|delete\|alter/);
  assert.match(top.stdout, /rafka transactions list\|describe/);
});

test('an unreachable broker: exit 1, one line naming the address, within seconds', async () => {
  const port = await closedPort();
  const b = `127.0.0.1:${port}`;
  for (const args of [['topics', 'list'], ['cluster'], ['consume', 't'], ['groups', 'list'], ['transactions', 'list']]) {
    const r = await fails(b, args, 1, new RegExp(`^rafka: no broker reachable at 127\\.0\\.0\\.1:${port} \\(`));
    assert.ok(r.ms < 10_000, `${args.join(' ')} took ${r.ms} ms`);
  }
  const r = await fails(b, ['produce', 't'], 1, /^rafka: no broker reachable at/, { input: 'a\n' });
  assert.ok(r.ms < 10_000);
  // $RAFKA_BOOTSTRAP is the default address.
  await fails(null, ['topics', 'list'], 1, new RegExp(`no broker reachable at 127\\.0\\.0\\.1:${port} `), { env: { RAFKA_BOOTSTRAP: b } });
});

describe('against a live broker', { timeout: 180_000 }, () => {
  let broker: RunningBroker;
  let b: string;
  before(async () => {
    broker = await testBroker({ autoCreateTopicsEnable: false });
    b = broker.bootstrap;
  });
  after(async () => {
    await broker.close();
  });

  test('topics: create, list, describe, alter, delete, and the broker refusing', async () => {
    assert.equal(await ok(b, ['topics', 'create', 'cli-t', '-p', '3', '-c', 'retention.ms=3600000']), 'created topic cli-t\n');
    await fails(b, ['topics', 'create', 'cli-t'], 1, /^rafka: TOPIC_ALREADY_EXISTS: cli-t/);
    await ok(b, ['topics', 'create', 'cli-t', '--if-not-exists']);

    const list = await ok(b, ['topics', 'list']);
    const lines = list.trimEnd().split('\n');
    assert.match(lines[0]!, /^TOPIC\s+PARTITIONS\s+REPLICATION\s+ID$/);
    assert.ok(lines.some((l) => /^cli-t\s+3\s+1\s+\S+$/.test(l)), list);
    const listed = await okJson<{ name: string; partitions: number }[]>(b, ['topics', 'list']);
    assert.deepEqual(listed.find((t) => t.name === 'cli-t')?.partitions, 3);

    await ok(b, ['topics', 'alter', 'cli-t', '--partitions', '4', '-c', 'cleanup.policy=compact']);
    const [d] = await okJson<{ name: string; partitions: { partition: number; leader: number; startOffset: number; endOffset: number }[]; configs: Record<string, string> }[]>(b, ['topics', 'describe', 'cli-t']);
    assert.equal(d!.partitions.length, 4);
    assert.deepEqual(d!.partitions.map((p) => [p.partition, p.leader, p.startOffset, p.endOffset]), [[0, 1, 0, 0], [1, 1, 0, 0], [2, 1, 0, 0], [3, 1, 0, 0]]);
    assert.equal(d!.configs['retention.ms'], '3600000');
    assert.equal(d!.configs['cleanup.policy'], 'compact');
    const text = await ok(b, ['topics', 'describe', 'cli-t']);
    assert.match(text, /^Topic: cli-t {2}id: \S+ {2}partitions: 4$/m);
    assert.match(text, /^PARTITION\s+LEADER\s+REPLICAS\s+ISR\s+START\s+END$/m);
    await ok(b, ['topics', 'alter', 'cli-t', '--delete-config', 'cleanup.policy']);
    const [after] = await okJson<{ configs: Record<string, string> }[]>(b, ['topics', 'describe', 'cli-t']);
    assert.equal(after!.configs['cleanup.policy'], undefined);
    await fails(b, ['topics', 'alter', 'cli-t', '--partitions', '2'], 1, /^rafka: INVALID_PARTITIONS: cli-t/);
    await fails(b, ['topics', 'describe', 'cli-missing'], 1, /^rafka: UNKNOWN_TOPIC_OR_PARTITION: cli-missing$/);

    assert.equal(await ok(b, ['topics', 'delete', 'cli-t']), 'deleted topic cli-t\n');
    await fails(b, ['topics', 'delete', 'cli-t'], 1, /^rafka: UNKNOWN_TOPIC_OR_PARTITION: cli-t/);
    assert.deepEqual(await okJson(b, ['topics', 'delete', 'cli-t', '--if-exists']), { deleted: [] });
  });

  test('produce and consume: keys, headers, templates, JSON both ways, offsets, counts', async () => {
    await ok(b, ['topics', 'create', 'cli-p', '-p', '1']);
    const produced = await ok(b, ['produce', 'cli-p', '-k', ':', '-H', 'src=cli', '-H', 'n=1'], { input: 'k1:one\nk2:two:2\nnokey\n' });
    assert.equal(produced, 'produced 3 records to cli-p (partition 0: offsets 0-2)\n');

    const template = await ok(b, ['consume', 'cli-p', '-o', 'beginning', '-e', '-f', '%t/%p/%o %k=%s (%K,%S) [%h]\\n']);
    assert.equal(template, 'cli-p/0/0 k1=one (2,3) [src=cli,n=1]\ncli-p/0/1 k2=two:2 (2,5) [src=cli,n=1]\ncli-p/0/2 =nokey (-1,5) [src=cli,n=1]\n');
    // Default format: the value and a newline, as kcat.
    assert.equal(await ok(b, ['consume', 'cli-p', '-o', 'beginning', '-e']), 'one\ntwo:2\nnokey\n');
    assert.equal(await ok(b, ['consume', 'cli-p', '-o', '1', '-c', '1']), 'two:2\n');
    assert.equal(await ok(b, ['consume', 'cli-p', '-o', '-1', '-e']), 'nokey\n');
    assert.equal(await ok(b, ['consume', 'cli-p', '-o', 'end', '-e']), '');

    const rows = jsonLines(await ok(b, ['consume', 'cli-p', '-o', 'beginning', '-e', '--json']));
    assert.deepEqual(rows.map((r) => [r.offset, r.key, r.value, r.headers]), [
      [0, 'k1', 'one', [{ key: 'src', value: 'cli' }, { key: 'n', value: '1' }]],
      [1, 'k2', 'two:2', [{ key: 'src', value: 'cli' }, { key: 'n', value: '1' }]],
      [2, null, 'nokey', [{ key: 'src', value: 'cli' }, { key: 'n', value: '1' }]],
    ]);
    assert.ok(rows.every((r) => r.topic === 'cli-p' && r.partition === 0 && Math.abs(r.timestamp - Date.now()) < 120_000));

    // What consume --json prints, produce --json reads: a copy with keys, headers, partitions and timestamps.
    await ok(b, ['topics', 'create', 'cli-copy', '-p', '2']);
    const input = [
      JSON.stringify({ value: 'a', key: 'ka', headers: [{ key: 'h', value: 'x' }], partition: 1, timestamp: 1000 }),
      JSON.stringify({ value: 'b', headers: { h: 'y' }, partition: 1, timestamp: 2000 }),
      JSON.stringify({ value: null, key: 'tomb', partition: 1, timestamp: 3000 }),
    ].join('\n');
    const summary = await okJson<{ topic: string; records: number; partitions: unknown[] }>(b, ['produce', 'cli-copy'], { input: input + '\n' });
    assert.deepEqual(summary, { topic: 'cli-copy', records: 3, partitions: [{ partition: 1, records: 3, firstOffset: 0, lastOffset: 2 }] });
    const copy = jsonLines(await ok(b, ['consume', 'cli-copy', '-p', '1', '-o', 'beginning', '-e', '--json']));
    assert.deepEqual(copy.map((r) => [r.partition, r.offset, r.timestamp, r.key, r.value, r.headers]), [
      [1, 0, 1000, 'ka', 'a', [{ key: 'h', value: 'x' }]],
      [1, 1, 2000, null, 'b', [{ key: 'h', value: 'y' }]],
      [1, 2, 3000, 'tomb', null, []],
    ]);
    // s@timestamp: the first record at or after it.
    assert.equal(await ok(b, ['consume', 'cli-copy', '-p', '1', '-o', 's@1500', '-e', '-f', '%o\\n']), '1\n2\n');
    assert.equal(await ok(b, ['consume', 'cli-copy', '-o', 'beginning', '-e', '-f', '%p:%o\\n']), '1:0\n1:1\n1:2\n');
    await fails(b, ['consume', 'cli-copy', '-p', '7'], 1, /^rafka: UNKNOWN_TOPIC_OR_PARTITION: cli-copy has no partition 7$/);
    await fails(b, ['consume', 'cli-nope', '-e'], 1, /^rafka: UNKNOWN_TOPIC_OR_PARTITION: cli-nope$/);
    await fails(b, ['produce', 'cli-nope'], 1, /^rafka: UNKNOWN_TOPIC_OR_PARTITION: cli-nope$/, { input: 'x\n' });
    await fails(b, ['produce', 'cli-p', '-p', '5'], 1, /^rafka: UNKNOWN_TOPIC_OR_PARTITION: partition 5 of cli-p does not exist/, { input: 'x\n' });
    // A malformed JSON line stops the input: the lines before it are produced, the error names the line.
    await fails(b, ['produce', 'cli-copy', '--json', '-p', '0'], 1, /^rafka: line 2: invalid JSON/, { input: '{"value":"ok"}\n{nope\n{"value":"never"}\n' });
    assert.equal(await ok(b, ['consume', 'cli-copy', '-p', '0', '-o', 'beginning', '-e']), 'ok\n');
  });

  test('SIGINT: consume (without -e or -c) exits 0 after its group member commits; produce sends what it read', async () => {
    await ok(b, ['topics', 'create', 'cli-sig']);
    await ok(b, ['produce', 'cli-sig'], { input: 'one\ntwo\n' });
    const child = spawn(process.execPath, [BIN, 'consume', 'cli-sig', '-g', 'cli-sig-group', '-o', 'beginning', '-b', b], { env: cliEnv() });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no output within 30 s; stderr: ${err}`)), 30_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out === 'one\ntwo\n') {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const t0 = Date.now();
    child.kill('SIGINT');
    assert.equal(await exited, 0, err);
    assert.ok(Date.now() - t0 < 5000);
    assert.equal(err, '');
    const d = await okJson<{ offsets: { committedOffset: number }[] }>(b, ['groups', 'describe', 'cli-sig-group']);
    assert.deepEqual(d.offsets.map((o) => o.committedOffset), [2]);

    // produce from an input that stays open: SIGINT ends the input, what was read is produced.
    const producer = spawn(process.execPath, [BIN, 'produce', 'cli-sig', '-b', b], { env: cliEnv() });
    let summary = '';
    producer.stdout.on('data', (d: Buffer) => (summary += d.toString()));
    const producerExit = new Promise<number | null>((resolve) => producer.on('exit', (code) => resolve(code)));
    producer.stdin.write('three\nfour\n');
    const deadline = Date.now() + 30_000;
    while ((await okJson<{ partitions: { endOffset: number }[] }[]>(b, ['topics', 'describe', 'cli-sig']))[0]!.partitions[0]!.endOffset < 4) {
      assert.ok(Date.now() < deadline, 'the two lines were not produced within 30 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    producer.kill('SIGINT');
    assert.equal(await producerExit, 0);
    assert.equal(summary, 'produced 2 records to cli-sig (partition 0: offsets 2-3)\n');
  });

  test('produce from a file with compression and acks=1; a progress bar when asked', async () => {
    await ok(b, ['topics', 'create', 'cli-f', '-p', '3']);
    const dir = mkdtempSync(join(tmpdir(), 'rafka-cli-'));
    try {
      const file = join(dir, 'in.txt');
      writeFileSync(file, Array.from({ length: 5000 }, (_, i) => `key-${i % 7}\t${i}`).join('\n') + '\n');
      for (const codec of ['gzip', 'lz4', 'zstd', 'snappy']) {
        await ok(b, ['topics', 'create', `cli-f-${codec}`]);
        const s = await ok(b, ['produce', `cli-f-${codec}`, '--file', file, '-k', '\t', '--compression', codec, '--acks', '1']);
        assert.equal(s, `produced 5000 records to cli-f-${codec} (partition 0: offsets 0-4999)\n`, codec);
        assert.equal((await ok(b, ['consume', `cli-f-${codec}`, '-o', '-1', '-e', '-f', '%k %s %o\\n'])), 'key-1 4999 4999\n', codec);
      }
      const r = await rafka(['produce', 'cli-f', '--file', file, '-k', '\t', '--progress', '-b', b]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^produced 5000 records to cli-f \(partition 0: offsets 0-\d+, partition 1: offsets 0-\d+, partition 2: offsets 0-\d+\)\n$/);
      assert.match(r.stderr, /100% \| 5000 records \| \d+ records\/s/);
      // Keyed records: each key stays in one partition; every record arrives.
      const rows = jsonLines(await ok(b, ['consume', 'cli-f', '-o', 'beginning', '-e', '--json']));
      assert.equal(rows.length, 5000);
      const partitionOf = new Map<string, number>();
      for (const row of rows) {
        assert.equal(partitionOf.get(row.key!) ?? row.partition, row.partition);
        partitionOf.set(row.key!, row.partition);
      }
      assert.deepEqual(new Set(rows.map((r) => Number(r.value))).size, 5000);
      await fails(b, ['produce', 'cli-f', '--file', join(dir, 'missing.txt')], 1, /^rafka: cannot read .*missing\.txt: no such file$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('groups: list, describe with lag, reset offsets of an empty group, delete', async () => {
    await ok(b, ['topics', 'create', 'cli-g', '-p', '2']);
    await ok(b, ['produce', 'cli-g', '-k', '='], { input: 'a=1\nb=2\nc=3\nd=4\n' });
    // A group consumer commits what it consumed when it exits.
    const consumed = await ok(b, ['consume', 'cli-g', '-g', 'cli-group', '-o', 'beginning', '-e', '-f', '%k\\n']);
    assert.deepEqual(consumed.split('\n').filter(Boolean).sort(), ['a', 'b', 'c', 'd']);

    const groups = await okJson<{ groupId: string; state: string; protocolType: string }[]>(b, ['groups', 'list']);
    assert.deepEqual(groups.find((g) => g.groupId === 'cli-group'), { groupId: 'cli-group', protocolType: 'consumer', state: 'Empty' });
    assert.match(await ok(b, ['groups', 'list']), /^cli-group\s+Empty\s+consumer$/m);

    type Described = { state: string; offsets: { topic: string; partition: number; committedOffset: number; logEndOffset: number; lag: number | null }[] };
    const ends = (await okJson<{ partitions: { endOffset: number }[] }[]>(b, ['topics', 'describe', 'cli-g']))[0]!.partitions.map((p) => p.endOffset);
    let d = await okJson<Described>(b, ['groups', 'describe', 'cli-group']);
    assert.equal(d.state, 'Empty');
    assert.deepEqual(d.offsets.map((o) => [o.partition, o.committedOffset, o.logEndOffset, o.lag]), [[0, ends[0], ends[0], 0], [1, ends[1], ends[1], 0]]);

    await ok(b, ['produce', 'cli-g', '-p', '0'], { input: 'x\ny\n' });
    d = await okJson<Described>(b, ['groups', 'describe', 'cli-group']);
    assert.deepEqual(d.offsets.map((o) => o.lag), [2, 0]);
    const table = await ok(b, ['groups', 'describe', 'cli-group']);
    assert.match(table, /^Group: cli-group {2}state: Empty/);
    assert.match(table, new RegExp(`^cli-g\\s+0\\s+${ends[0]}\\s+${ends[0]! + 2}\\s+2\\s+-\\s+-$`, 'm'));

    // Dry run by default: printed, not applied.
    type Reset = { executed: boolean; offsets: { partition: number; previousOffset: number | null; newOffset: number }[] };
    const dry = await rafka(['groups', 'reset-offsets', 'cli-group', '--topic', 'cli-g', '--to-earliest', '--json', '-b', b]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stderr, /dry run, nothing changed \(add --execute to apply\)/);
    assert.deepEqual((JSON.parse(dry.stdout) as Reset).offsets.map((o) => [o.partition, o.previousOffset, o.newOffset]), [[0, ends[0], 0], [1, ends[1], 0]]);
    assert.deepEqual((await okJson<Described>(b, ['groups', 'describe', 'cli-group'])).offsets.map((o) => o.committedOffset), ends);

    const applied = await okJson<Reset>(b, ['groups', 'reset-offsets', 'cli-group', '--topic', 'cli-g:0', '--to-earliest', '--execute']);
    assert.equal(applied.executed, true);
    assert.deepEqual((await okJson<Described>(b, ['groups', 'describe', 'cli-group'])).offsets.map((o) => o.committedOffset), [0, ends[1]]);
    await ok(b, ['groups', 'reset-offsets', 'cli-group', '--all-topics', '--shift-by', '1', '--execute']);
    assert.deepEqual((await okJson<Described>(b, ['groups', 'describe', 'cli-group'])).offsets.map((o) => o.committedOffset), [1, ends[1]]);
    // An offset asked for is kept within the partition's earliest and latest, as Kafka's tool does.
    await ok(b, ['groups', 'reset-offsets', 'cli-group', '--topic', 'cli-g', '--to-offset', '1000', '--execute']);
    assert.deepEqual((await okJson<Described>(b, ['groups', 'describe', 'cli-group'])).offsets.map((o) => o.committedOffset), [ends[0]! + 2, ends[1]]);
    await ok(b, ['groups', 'reset-offsets', 'cli-group', '--topic', 'cli-g', '--to-datetime', '2000-01-01T00:00:00Z', '--execute']);
    assert.deepEqual((await okJson<Described>(b, ['groups', 'describe', 'cli-group'])).offsets.map((o) => o.committedOffset), [0, 0]);
    // Consuming as the group again starts from the committed offsets.
    assert.equal((await ok(b, ['consume', 'cli-g', '-g', 'cli-group', '-e', '-f', '%o\\n'])).split('\n').filter(Boolean).length, 6);

    // A group with an active member cannot be reset.
    const member = new Consumer({ bootstrap: b, groupId: 'cli-active', autoOffsetReset: 'earliest' });
    try {
      member.subscribe('cli-g');
      await member.ready();
      await fails(b, ['groups', 'reset-offsets', 'cli-active', '--topic', 'cli-g', '--to-earliest', '--execute'], 1, /^rafka: group cli-active is Stable with 1 member\(s\): offsets can only be reset while it has no active members$/);
      await fails(b, ['groups', 'delete', 'cli-active'], 1, /^rafka: NON_EMPTY_GROUP/);
      const active = await okJson<{ state: string; members: { clientId: string }[]; offsets: { memberId: string | null }[] }>(b, ['groups', 'describe', 'cli-active']);
      assert.equal(active.state, 'Stable');
      assert.equal(active.members.length, 1);
      assert.ok(active.offsets.length === 2 && active.offsets.every((o) => o.memberId !== null));
    } finally {
      await member.close();
    }

    assert.equal(await ok(b, ['groups', 'delete', 'cli-group']), 'deleted group cli-group\n');
    await fails(b, ['groups', 'describe', 'cli-group'], 1, /^rafka: GROUP_ID_NOT_FOUND: .*cli-group$/);
  });

  test('configs get and set, for topics and the broker', async () => {
    await ok(b, ['topics', 'create', 'cli-c', '-c', 'retention.ms=60000']);
    type Entry = { name: string; value: string | null; source: string; isDefault: boolean };
    let entries = await okJson<Entry[]>(b, ['configs', 'get', 'topic', 'cli-c']);
    assert.deepEqual(entries.find((e) => e.name === 'retention.ms'), { name: 'retention.ms', value: '60000', readOnly: false, isDefault: false, source: 'DYNAMIC_TOPIC_CONFIG', isSensitive: false });
    assert.ok(entries.some((e) => e.name === 'cleanup.policy' && e.isDefault));
    entries = await okJson<Entry[]>(b, ['configs', 'get', 'topic', 'cli-c', '--non-default']);
    assert.deepEqual(entries.map((e) => e.name), ['retention.ms']);
    assert.match(await ok(b, ['configs', 'get', 'topic', 'cli-c', 'retention.ms']), /^retention\.ms\s+60000\s+DYNAMIC_TOPIC_CONFIG\s+no$/m);

    assert.equal(await ok(b, ['configs', 'set', 'topic', 'cli-c', 'retention.ms=5000', 'max.message.bytes=2000']), 'set retention.ms=5000 on topic cli-c\nset max.message.bytes=2000 on topic cli-c\n');
    entries = await okJson<Entry[]>(b, ['configs', 'get', 'topic', 'cli-c', 'retention.ms', 'max.message.bytes']);
    assert.deepEqual(entries.map((e) => [e.name, e.value]), [['max.message.bytes', '2000'], ['retention.ms', '5000']]);
    await ok(b, ['configs', 'set', 'topic', 'cli-c', '--delete', 'retention.ms']);
    entries = await okJson<Entry[]>(b, ['configs', 'get', 'topic', 'cli-c', 'retention.ms']);
    assert.equal(entries[0]!.isDefault, true);
    await ok(b, ['configs', 'set', 'topic', 'cli-c', 'retention.ms=1', '--validate-only']);
    assert.equal((await okJson<Entry[]>(b, ['configs', 'get', 'topic', 'cli-c', 'retention.ms']))[0]!.isDefault, true);
    await fails(b, ['configs', 'set', 'topic', 'cli-c', 'no.such.config=1'], 1, /^rafka: [A-Z_]+: cli-c/);
    await fails(b, ['configs', 'get', 'topic', 'cli-none'], 1, /^rafka: UNKNOWN_TOPIC_OR_PARTITION/);

    const broker1 = await okJson<Entry[]>(b, ['configs', 'get', 'broker', '1']);
    assert.ok(broker1.length > 0);
  });

  test('quotas list, set and remove, for users, client ids, their defaults and combinations', async () => {
    assert.equal(await ok(b, ['quotas', 'set', '--user', 'alice', 'producer_byte_rate=1048576', 'request_percentage=25.5']), 'set producer_byte_rate=1048576 for user=alice\nset request_percentage=25.5 for user=alice\n');
    await ok(b, ['quotas', 'set', '--default-user', '--client-id', 'app', 'consumer_byte_rate=2048']);
    await ok(b, ['quotas', 'set', '--default-client-id', 'controller_mutation_rate=5']);
    assert.match(await ok(b, ['quotas', 'list']), /^user=alice\s+producer_byte_rate\s+1048576$/m);
    type Entry = { entity: { user?: string | null; clientId?: string | null }; quotas: Record<string, number> };
    assert.deepEqual(await okJson<Entry[]>(b, ['quotas', 'list', '--default-user']), [{ entity: { user: null, clientId: 'app' }, quotas: { consumer_byte_rate: 2048 } }]);
    assert.deepEqual((await okJson<Entry[]>(b, ['quotas', 'list', '--client-id', 'app', '--default-user', '--strict'])).length, 1);
    await ok(b, ['quotas', 'set', '--user', 'bob', 'producer_byte_rate=1', '--validate-only']);
    assert.equal((await okJson<Entry[]>(b, ['quotas', 'list', '--user', 'bob'])).length, 0);
    assert.equal(await ok(b, ['quotas', 'remove', '--user', 'alice', 'request_percentage']), 'removed request_percentage for user=alice\n');
    assert.deepEqual((await okJson<Entry[]>(b, ['quotas', 'list', '--user', 'alice']))[0]!.quotas, { producer_byte_rate: 1048576 });
    await fails(b, ['quotas', 'set', '--user', 'alice', 'producer_byte_rate=1.5'], 1, /^rafka: INVALID_REQUEST: user=alice: producer_byte_rate cannot be a fractional value/);
    await fails(b, ['quotas', 'set', 'producer_byte_rate=1'], 2, /name an entity/);
  });

  test('cluster: id, brokers, APIs with their versions', async () => {
    type Cluster = { clusterId: string; controllerId: number; brokers: { nodeId: number; host: string; port: number; apis: { apiKey: number; name: string; minVersion: number; maxVersion: number; usableVersion: number | null }[] }[] };
    const c = await okJson<Cluster>(b, ['cluster']);
    assert.equal(c.clusterId, broker.clusterId);
    assert.equal(c.controllerId, 1);
    assert.deepEqual(c.brokers.map((x) => [x.nodeId, x.host, x.port]), [[1, '127.0.0.1', broker.port]]);
    const produce = c.brokers[0]!.apis.find((a) => a.name === 'Produce')!;
    assert.equal(produce.apiKey, 0);
    assert.ok(produce.maxVersion >= 9 && produce.usableVersion !== null && produce.usableVersion <= produce.maxVersion);
    for (const name of ['DescribeTransactions', 'ListTransactions', 'DescribeProducers']) assert.ok(c.brokers[0]!.apis.some((a) => a.name === name), name);
    const text = await ok(b, ['cluster']);
    assert.match(text, new RegExp(`^Cluster: ${broker.clusterId} {2}controller: 1$`, 'm'));
    assert.match(text, new RegExp(`^1\\s+127\\.0\\.0\\.1\\s+${broker.port}\\s+-$`, 'm'));
    assert.match(text, /^APIs of broker 1:$/m);
    assert.match(text, /^0\s+Produce\s+\d+\s+\d+\s+\d+$/m);
    assert.doesNotMatch(await ok(b, ['cluster', '--no-apis']), /APIs of broker/);
  });

  test('transactions list/describe and producers describe: an ongoing and a completed transaction', async () => {
    await ok(b, ['topics', 'create', 'cli-tx', '-p', '2']);
    const kafka = new Kafka({ clientId: 'cli-txn', brokers: [b], logLevel: logLevel.NOTHING });
    const done = kafka.producer({ transactionalId: 'cli-done', idempotent: true, maxInFlightRequests: 1 });
    const open = kafka.producer({ transactionalId: 'cli-open', idempotent: true, maxInFlightRequests: 1 });
    await done.connect();
    await open.connect();
    try {
      const t1 = await done.transaction();
      await t1.send({ topic: 'cli-tx', messages: [{ value: 'committed', partition: 0 }] });
      await t1.commit();
      await broker.broker.transactions.settle();
      const t2 = await open.transaction();
      await t2.send({ topic: 'cli-tx', messages: [{ value: 'pending', partition: 1 }] });

      type Listed = { transactionalId: string; producerId: number; state: string; coordinatorId: number };
      const all = await okJson<Listed[]>(b, ['transactions', 'list']);
      assert.deepEqual(all.map((t) => [t.transactionalId, t.state, t.coordinatorId]), [['cli-done', 'CompleteCommit', 1], ['cli-open', 'Ongoing', 1]]);
      const openPid = all.find((t) => t.transactionalId === 'cli-open')!.producerId;
      assert.deepEqual((await okJson<Listed[]>(b, ['transactions', 'list', '--state', 'Ongoing'])).map((t) => t.transactionalId), ['cli-open']);
      assert.deepEqual((await okJson<Listed[]>(b, ['transactions', 'list', '--state', 'CompleteCommit', '--state', 'Ongoing'])).length, 2);
      assert.deepEqual((await okJson<Listed[]>(b, ['transactions', 'list', '--producer-id', String(openPid)])).map((t) => t.transactionalId), ['cli-open']);
      assert.deepEqual(await okJson<Listed[]>(b, ['transactions', 'list', '--state', 'Ongoing', '--duration-ms', '3600000']), []);
      assert.match(await ok(b, ['transactions', 'list']), new RegExp(`^cli-open\\s+1\\s+${openPid}\\s+Ongoing$`, 'm'));

      type Described = { transactionalId: string; state: string; producerId: number; producerEpoch: number; transactionTimeoutMs: number; transactionStartTimeMs: number | null; topicPartitions: { topic: string; partition: number }[] };
      const [o, c] = await okJson<Described[]>(b, ['transactions', 'describe', 'cli-open', 'cli-done']);
      assert.equal(o!.state, 'Ongoing');
      assert.equal(o!.producerId, openPid);
      assert.deepEqual(o!.topicPartitions, [{ topic: 'cli-tx', partition: 1 }]);
      assert.ok(o!.transactionStartTimeMs !== null && Math.abs(Date.now() - o!.transactionStartTimeMs) < 60_000);
      assert.ok(o!.transactionTimeoutMs > 0);
      assert.equal(c!.state, 'CompleteCommit');
      assert.deepEqual(c!.topicPartitions, []);
      assert.match(await ok(b, ['transactions', 'describe', 'cli-open']), new RegExp(`^cli-open\\s+1\\s+${openPid}\\s+\\d+\\s+Ongoing\\s+\\d+\\s+\\S+Z\\s+\\d+\\s+cli-tx-1$`, 'm'));
      await fails(b, ['transactions', 'describe', 'cli-unknown'], 1, /^rafka: TRANSACTIONAL_ID_NOT_FOUND: transactional id cli-unknown$/);

      type Producers = { topic: string; partition: number; activeProducers: { producerId: number; producerEpoch: number; lastSequence: number; coordinatorEpoch: number | null; currentTransactionStartOffset: number | null }[] }[];
      const [p1] = await okJson<Producers>(b, ['producers', 'describe', 'cli-tx:1']);
      assert.equal(p1!.partition, 1);
      assert.deepEqual(p1!.activeProducers.map((a) => [a.producerId, a.lastSequence, a.currentTransactionStartOffset]), [[openPid, 0, 0]]);
      const both = await okJson<Producers>(b, ['producers', 'describe', 'cli-tx']);
      assert.deepEqual(both.map((p) => p.partition), [0, 1]);
      const committed = both[0]!.activeProducers;
      assert.equal(committed.length, 1);
      assert.equal(committed[0]!.currentTransactionStartOffset, null);
      assert.ok(committed[0]!.coordinatorEpoch !== null, 'the commit marker carries the coordinator epoch');
      assert.match(await ok(b, ['producers', 'describe', 'cli-tx:1']), new RegExp(`^1\\s+${openPid}\\s+\\d+\\s+0\\s+\\S+Z\\s+-\\s+0$`, 'm'));
      await fails(b, ['producers', 'describe', 'cli-tx:9'], 1, /^rafka: UNKNOWN_TOPIC_OR_PARTITION: cli-tx has no partition 9$/);

      // consume -e stops at the end even where the log ends with a COMMIT marker; read_committed
      // stops at the last stable offset (before the open transaction) and shows only committed records.
      const sorted = (text: string) => text.split('\n').filter(Boolean).sort();
      assert.deepEqual(sorted(await ok(b, ['consume', 'cli-tx', '-o', 'beginning', '-e', '-f', '%p %s\\n'])), ['0 committed', '1 pending']);
      assert.deepEqual(sorted(await ok(b, ['consume', 'cli-tx', '-o', 'beginning', '-e', '-f', '%p %s\\n', '--isolation', 'read_committed'])), ['0 committed']);
      await t2.abort();
      await broker.broker.transactions.settle();
      assert.deepEqual(sorted(await ok(b, ['consume', 'cli-tx', '-o', 'beginning', '-e', '-f', '%p %s\\n', '--isolation', 'read_committed'])), ['0 committed']);
      assert.deepEqual(sorted(await ok(b, ['consume', 'cli-tx', '-o', 'beginning', '-e', '-f', '%p %s\\n'])), ['0 committed', '1 pending']);
    } finally {
      await done.disconnect();
      await open.disconnect();
    }
  });
});
