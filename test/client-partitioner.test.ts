/**
 * Key → partition must equal the Java client's, or the same key written by two clients would land on
 * two partitions. Checked three ways: the murmur2 vectors from Kafka's own UtilsTest; a table of keys
 * computed from the murmur2 definition; and, when Java and the kafka-clients jar (Maven Central) are
 * available, the real `BuiltInPartitioner.partitionForKey` and `Utils.murmur2` on a sample of keys.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { DefaultPartitioner, murmur2, partitionForKey, toPositive } from '../src/client/index.js';
import { skipOrFail } from './helpers/skips.js';

test('murmur2 matches the vectors of Kafka UtilsTest.testMurmur2', () => {
  const cases: [Buffer, number][] = [
    [Buffer.from('21'), -973932308],
    [Buffer.from('foobar'), -790332482],
    [Buffer.from('a-little-bit-long-string'), -985981536],
    [Buffer.from('a-little-bit-longer-string'), -1486304829],
    [Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'), -58897971],
    [Buffer.from([97, 98, 99]), 479470107],
  ];
  for (const [key, expected] of cases) assert.equal(murmur2(key), expected, key.toString());
});

test('toPositive clears the sign bit (Integer.MIN_VALUE maps to 0, unlike Math.abs)', () => {
  assert.equal(toPositive(-2147483648), 0);
  assert.equal(toPositive(-1), 2147483647);
  assert.equal(toPositive(5), 5);
});

/**
 * Key → partition for 12 partitions, as the Java producer's default partitioner computes it. The
 * murmur2 values are those of the vectors above; the partitions are toPositive(h) % 12.
 */
test('partitionForKey: a table of keys for 12 partitions', () => {
  const table: [string, number][] = [
    ['21', toPositive(-973932308) % 12],
    ['foobar', toPositive(-790332482) % 12],
    ['a-little-bit-long-string', toPositive(-985981536) % 12],
    ['a-little-bit-longer-string', toPositive(-1486304829) % 12],
    ['abc', 479470107 % 12],
  ];
  for (const [key, p] of table) assert.equal(partitionForKey(Buffer.from(key), 12), p, key);
  // Tail lengths 0..3 all reach the final mix.
  const seen = new Set([0, 1, 2, 3, 4, 5, 6, 7].map((n) => murmur2(Buffer.alloc(n, 0x61))));
  assert.equal(seen.size, 8);
});

test('default partitioner: keyed records by murmur2, unkeyed records sticky per batch', () => {
  const p = new DefaultPartitioner(1000);
  const input = (key: Buffer | null) => ({ topic: 't', key, numPartitions: 6, availablePartitions: [0, 1, 2, 3, 4, 5] });
  assert.equal(p.partition(input(Buffer.from('foobar')), 10), partitionForKey(Buffer.from('foobar'), 6));
  const first = p.partition(input(null), 400);
  assert.equal(p.partition(input(null), 400), first);
  assert.equal(p.partition(input(null), 400), first, 'still under 1000 bytes before this record');
  assert.notEqual(p.partition(input(null), 400), first, 'switches once a batch worth was sent');
});

/** The keys compared with the Java client: ASCII, UTF-8, binary, empty, and every tail length. */
function sampleKeys(): Buffer[] {
  const keys: Buffer[] = [Buffer.alloc(0), Buffer.from('ü€😀', 'utf8'), Buffer.from([0, 255, 128, 127, 1])];
  for (let i = 0; i < 200; i++) keys.push(Buffer.from(`key-${i * 2654435761 % 1000003}`));
  for (let n = 1; n < 40; n++) keys.push(Buffer.from(Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff)));
  return keys;
}

const JAVA_SOURCE = `
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import java.io.*;
public class Murmur {
  public static void main(String[] a) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
    String line;
    StringBuilder out = new StringBuilder();
    while ((line = in.readLine()) != null) {
      byte[] k = new byte[line.length() / 2];
      for (int i = 0; i < k.length; i++) k[i] = (byte) Integer.parseInt(line.substring(2 * i, 2 * i + 2), 16);
      out.append(Utils.murmur2(k));
      for (int n : new int[] {1, 3, 7, 12, 100}) out.append(' ').append(BuiltInPartitioner.partitionForKey(k, n));
      out.append('\\n');
    }
    System.out.print(out);
  }
}
`;

/** kafka-clients and the slf4j-api it needs, from the local Maven repository (fetched when absent). */
function kafkaClientsClasspath(): string | null {
  const artifacts = [
    ['org.apache.kafka', 'kafka-clients', '3.9.1'],
    ['org.slf4j', 'slf4j-api', '1.7.36'],
  ];
  const jars: string[] = [];
  for (const [group, name, version] of artifacts) {
    const jar = path.join(homedir(), '.m2/repository', ...group!.split('.'), name!, version!, `${name}-${version}.jar`);
    if (!existsSync(jar)) {
      spawnSync('mvn', ['-q', 'dependency:get', `-Dartifact=${group}:${name}:${version}`, '-Dtransitive=false'], { encoding: 'utf8', timeout: 180_000 });
      if (!existsSync(jar)) return null;
    }
    jars.push(jar);
  }
  return jars.join(path.delimiter);
}

test('compatibility: the real Java client (kafka-clients from Maven Central) maps keys as we do', (t) => {
  const javac = spawnSync('javac', ['-version'], { encoding: 'utf8' });
  const reason = javac.error ? 'javac not found (install a JDK, e.g. openjdk-17-jdk-headless)' : null;
  const jar = reason ? null : kafkaClientsClasspath();
  const missing = reason ?? (jar ? null : 'kafka-clients 3.9.1 / slf4j-api jars not available (mvn dependency:get failed)');
  if (missing) {
    skipOrFail(t, missing);
    return;
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'rafka-murmur-'));
  writeFileSync(path.join(dir, 'Murmur.java'), JAVA_SOURCE);
  const c = spawnSync('javac', ['-cp', jar!, '-d', dir, path.join(dir, 'Murmur.java')], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(c.status, 0, c.stderr);
  const keys = sampleKeys();
  const r = spawnSync('java', ['-cp', `${jar}${path.delimiter}${dir}`, 'Murmur'], { input: keys.map((k) => k.toString('hex')).join('\n') + '\n', encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, keys.length);
  keys.forEach((k, i) => {
    const ours = [murmur2(k), ...[1, 3, 7, 12, 100].map((n) => partitionForKey(k, n))].join(' ');
    assert.equal(ours, lines[i], `key ${k.toString('hex')}`);
  });
});
