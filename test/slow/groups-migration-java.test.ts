/**
 * KIP-848's online migration between the group protocols with real clients against Rafka
 * (group.consumer.migration.policy=bidirectional, the default), each member its own process:
 * - two Java 4.1.1 consumers with group.protocol=classic are joined by one with
 *   group.protocol=consumer: the classic group becomes a consumer group that keeps them as classic
 *   members (ConsumerGroupDescribe member types 0, 0, 1); when the consumer-protocol member leaves, it
 *   becomes a classic group again and rebalances; every record produced before, between and after
 *   the two conversions is read exactly once, and no partition is ever owned by two members at once;
 * - kafkajs, which speaks only the classic protocol, joins a consumer group a Java consumer-protocol
 *   member holds: the two share the partitions, each reads its own, every record once.
 * Slow (about 30 s: JVM starts and the classic clients' 3 s heartbeats); the wire-level cases of every
 * policy are test/groups-migration.test.ts. Skipped when java, javac or the Kafka jars are missing,
 * unless RAFKA_REQUIRE_CLIENTS=1 (CI).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel, type Consumer as KafkajsConsumer } from 'kafkajs';
import { useClient } from '../helpers/external.js';
import { JavaGroupFixture, current, disjointCover, produce, stop, until } from '../helpers/java-consumer.js';

describe('online migration between the classic and consumer protocols with the Java client and kafkajs', { timeout: 180_000 }, () => {
  const fx = new JavaGroupFixture('migration-java');
  before(() => fx.setUp());
  after(() => fx.tearDown());

  it('online upgrade and downgrade: classic members joined by a consumer-protocol member, which then leaves; every record read once', async (t) => {
    if (!useClient(t, fx.java)) return;
    const all = Array.from({ length: 4 }, (_, p) => `jmig:${p}`);
    await fx.b!.broker.topics.create('jmig', 4, 1, {});
    const type = () => fx.b!.broker.groups.listGroups([], []).groups.find((g) => g.groupId === 'jmig-group');
    await produce(fx.producer, 'jmig', 4, 0, 40);
    const a = fx.run('A', 'jmig-group', 'names', 'jmig', '-', 'classic');
    const c1 = fx.run('B', 'jmig-group', 'names', 'jmig', '-', 'classic');
    await until('two classic members with two partitions each', [a, c1], () => current(a).length === 2 && current(c1).length === 2 && disjointCover([a, c1], all));
    assert.equal(type()?.groupType, 'classic');
    await produce(fx.producer, 'jmig', 4, 40, 40);
    // Upgrade: a consumer-protocol member joins the classic group.
    const k = fx.run('K', 'jmig-group', 'names', 'jmig');
    await until('the three members to share the partitions', [a, c1, k], () => current(k).length > 0 && [a, c1].every((m) => current(m).length > 0) && disjointCover([a, c1, k], all));
    assert.equal(type()?.groupType, 'consumer');
    const described = fx.b!.broker.groups.consumerGroupDescribe('jmig-group', false);
    assert.deepEqual(described.members.map((m) => m.memberType).sort(), [0, 0, 1]);
    await produce(fx.producer, 'jmig', 4, 80, 40);
    // Downgrade: the consumer-protocol member leaves; the classic members form a classic group again.
    await stop(k);
    await until('the group to be classic again, the two members sharing everything', [a, c1], () => type()?.groupType === 'classic' && type()?.groupState === 'Stable' && disjointCover([a, c1], all));
    await produce(fx.producer, 'jmig', 4, 120, 40);
    const members = [a, c1, k];
    const read = () => members.flatMap((m) => m.records);
    await until('all 160 records read', [a, c1], () => new Set(read()).size === 160);
    await new Promise((r) => setTimeout(r, 500)); // anything read twice would come now
    await stop(a);
    await stop(c1);
    const seen = read();
    assert.equal(seen.length, new Set(seen).size, `a record was read twice: ${seen.length} reads of ${new Set(seen).size} records`);
    assert.equal(seen.length, 160);
  });

  it('kafkajs (classic) joins a consumer group a Java consumer-protocol member holds; they share the partitions', async (t) => {
    if (!useClient(t, fx.java)) return;
    const all = Array.from({ length: 4 }, (_, p) => `jkjs:${p}`);
    await fx.b!.broker.topics.create('jkjs', 4, 1, {});
    const k = fx.run('K', 'jkjs-group', 'names', 'jkjs');
    await until('the Java member to own all four partitions', [k], () => current(k).length === 4);
    const kafka = new Kafka({ clientId: 'kjs-migration', brokers: [fx.b!.bootstrap], logLevel: logLevel.NOTHING, retry: { initialRetryTime: 50, retries: 20 } });
    const kjs: KafkajsConsumer = kafka.consumer({ groupId: 'jkjs-group', heartbeatInterval: 300, sessionTimeout: 10_000 });
    let kjsAssigned: string[] = [];
    const kjsRecords: string[] = [];
    kjs.on(kjs.events.GROUP_JOIN, (e) => {
      kjsAssigned = Object.entries(e.payload.memberAssignment).flatMap(([topic, ps]) => ps.map((p) => `${topic}:${p}`)).sort();
    });
    try {
      await kjs.connect();
      await kjs.subscribe({ topic: 'jkjs', fromBeginning: true });
      await kjs.run({
        eachMessage: async ({ topic, partition, message }) => {
          kjsRecords.push(`${topic}/${partition}/${message.offset}`);
        },
      });
      await until('the two to share the four partitions', [k], () => {
        const mine = current(k);
        return mine.length === 2 && kjsAssigned.length === 2 && new Set([...mine, ...kjsAssigned]).size === 4 && all.every((p) => mine.includes(p) || kjsAssigned.includes(p));
      });
      assert.equal(fx.b!.broker.groups.listGroups([], []).groups.find((g) => g.groupId === 'jkjs-group')?.groupType, 'consumer');
      const described = fx.b!.broker.groups.consumerGroupDescribe('jkjs-group', false);
      assert.deepEqual(described.members.map((m) => m.memberType).sort(), [0, 1]);
      await produce(fx.producer, 'jkjs', 4, 0, 40);
      const read = () => [...k.records, ...kjsRecords];
      await until('all 40 records read', [k], () => new Set(read()).size === 40);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(read().length, 40, 'no record read twice');
      // Each read only its own partitions.
      assert.ok(kjsRecords.every((r) => kjsAssigned.includes(r.split('/').slice(0, 2).join(':'))));
      assert.ok(kjsRecords.length > 0 && k.records.length > 0);
    } finally {
      await kjs.disconnect();
    }
    await stop(k);
  });
});
