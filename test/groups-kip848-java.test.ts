/**
 * The stock Java client (kafka-clients 4.1.1) with `group.protocol=consumer` (KIP-848) against
 * Rafka, as separate JVMs running test/clients/Kip848Consumer.java:
 * - one, then three members of a group on six partitions (two each), one leaving (its partitions
 *   move to the others), another joining; every record produced meanwhile is read exactly once, and
 *   a new member of the group after they all stopped resumes from their commits (reads only what
 *   came after);
 * - a server-side regex subscription (SubscriptionPattern, RE2) picking up a topic created after
 *   the consumer started;
 * - static members (group.instance.id): one restarts within the session timeout and gets back
 *   exactly its partitions, which the other member never got meanwhile.
 * The online migration between the protocols is test/slow/groups-migration-java.test.ts.
 *
 * Skipped when java, javac or the Kafka jars are missing, unless RAFKA_REQUIRE_CLIENTS=1 (CI).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useClient } from './helpers/external.js';
import { JavaGroupFixture, current, disjointCover, produce, stop, until } from './helpers/java-consumer.js';

describe('Java client 4.1.1 with group.protocol=consumer (KIP-848)', { timeout: 240_000 }, () => {
  const fx = new JavaGroupFixture('kip848-java');
  before(() => fx.setUp());
  after(() => fx.tearDown());

  it('members join and leave; every record is read exactly once; a later member resumes from the commits', async (t) => {
    if (!useClient(t, fx.java)) return;
    const all = Array.from({ length: 6 }, (_, p) => `j848:${p}`);
    await fx.b!.broker.topics.create('j848', 6, 1, {});
    await produce(fx.producer, 'j848', 6, 0, 120);
    const a = fx.run('A', 'j848-group', 'names', 'j848');
    await until('A to own all six partitions', [a], () => current(a).length === 6);
    const bm = fx.run('B', 'j848-group', 'names', 'j848');
    const c = fx.run('C', 'j848-group', 'names', 'j848');
    await until('three members with two partitions each', [a, bm, c], () => [a, bm, c].every((m) => current(m).length === 2) && disjointCover([a, bm, c], all));
    await produce(fx.producer, 'j848', 6, 120, 120);
    await stop(bm);
    await until('A and C to share the six partitions', [a, c], () => current(a).length === 3 && current(c).length === 3 && disjointCover([a, c], all));
    const d = fx.run('D', 'j848-group', 'names', 'j848');
    await until('two partitions each again', [a, c, d], () => [a, c, d].every((m) => current(m).length === 2) && disjointCover([a, c, d], all));
    await produce(fx.producer, 'j848', 6, 240, 120);
    const members = [a, bm, c, d];
    const read = () => members.flatMap((m) => m.records);
    await until('all 360 records read', [a, c, d], () => new Set(read()).size === 360);
    for (const m of [a, c, d]) await stop(m);
    const seen = read();
    assert.equal(seen.length, new Set(seen).size, `a record was read twice: ${seen.length} reads of ${new Set(seen).size} records`);
    assert.equal(seen.length, 360);
    // Nobody ever owned a partition another member owned at the same time (checked at every print
    // above through disjointCover); after they all left, a new member resumes from the commits.
    await produce(fx.producer, 'j848', 6, 360, 30);
    const e = fx.run('E', 'j848-group', 'names', 'j848');
    await until('E to read the 30 new records', [e], () => e.records.length >= 30);
    await new Promise((r) => setTimeout(r, 1000)); // anything read twice would come now
    await stop(e);
    assert.equal(e.records.length, 30, 'the new member read only what came after the commits');
    assert.deepEqual(
      e.records.filter((r) => seen.includes(r)),
      [],
    );
  });

  it('a regex subscription (SubscriptionPattern) picks up a topic created after the consumer started', async (t) => {
    if (!useClient(t, fx.java)) return;
    await fx.b!.broker.topics.create('jrx-first', 1, 1, {});
    const f = fx.run('F', 'jrx-group', 'regex', 'jrx-.*');
    await until('F to own jrx-first', [f], () => current(f).includes('jrx-first:0'));
    await fx.b!.broker.topics.create('jrx-later', 2, 1, {});
    await fx.b!.broker.topics.create('other-later', 1, 1, {});
    await produce(fx.producer, 'jrx-later', 2, 0, 20);
    await until('F to own and read jrx-later', [f], () => current(f).length === 3 && f.records.filter((r) => r.startsWith('jrx-later/')).length === 20);
    assert.deepEqual(current(f), ['jrx-first:0', 'jrx-later:0', 'jrx-later:1']);
    await stop(f);
  });

  it('a static member restarting within the session timeout gets its own partitions back; the other never had them', async (t) => {
    if (!useClient(t, fx.java)) return;
    const all = Array.from({ length: 4 }, (_, p) => `jst:${p}`);
    await fx.b!.broker.topics.create('jst', 4, 1, {});
    const s1 = fx.run('S1', 'jst-group', 'names', 'jst', 's1');
    const s2 = fx.run('S2', 'jst-group', 'names', 'jst', 's2');
    await until('two partitions each', [s1, s2], () => current(s1).length === 2 && current(s2).length === 2 && disjointCover([s1, s2], all));
    const mine = current(s1);
    const theirs = current(s2);
    const s2Seen = s2.assignments.length;
    await stop(s1);
    const s1b = fx.run('S1b', 'jst-group', 'names', 'jst', 's1');
    await until('the restarted s1 to own its partitions', [s1b, s2], () => current(s1b).length === 2);
    assert.deepEqual(current(s1b), mine);
    await produce(fx.producer, 'jst', 4, 0, 8);
    await until('both to read their records', [s1b, s2], () => s1b.records.length + s2.records.length >= 8);
    // While s1 was away, s2's assignment stayed what it was.
    for (const a of s2.assignments.slice(s2Seen - 1)) assert.deepEqual(a, theirs);
    const desc = fx.b!.broker.groups.consumerGroupDescribe('jst-group', false);
    assert.deepEqual(desc.members.map((m) => m.instanceId).sort(), ['s1', 's2']);
    await stop(s1b);
    await stop(s2);
  });
});
