/**
 * KIP-848 per-group configs through Rafka's Admin (DescribeConfigs / IncrementalAlterConfigs on a
 * GROUP resource, type 32): `consumer.session.timeout.ms` and `consumer.heartbeat.interval.ms` shown
 * with the broker's value until overridden; overrides bounded by `group.consumer.min/max.*` with
 * Kafka's INVALID_CONFIG messages; validateOnly changing nothing; the coordinator using them (the
 * heartbeat interval it hands out, the session after which it removes a member); and stored, so they
 * come back after a restart on every engine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testBroker } from './helpers/broker.js';
import { RawClient } from './helpers/raw-client.js';
import { tempDir } from './helpers/log-engine.js';
import { Admin, KafkaProtocolError } from '../src/client/index.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { ApiKey, ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse } from '../src/protocol/messages/index.js';
import { randomUuid } from '../src/protocol/codec/uuid.js';

const SESSION = 'consumer.session.timeout.ms';
const HEARTBEAT = 'consumer.heartbeat.interval.ms';

async function groupConfigs(admin: Admin, group: string): Promise<Record<string, [string | null, string]>> {
  const [r] = await admin.describeConfigs([{ type: 'group', name: group }]);
  return Object.fromEntries(r!.configs.map((c) => [c.name, [c.value, c.source]]));
}

async function alterError(admin: Admin, group: string, configs: { name: string; value?: string; op?: 'set' | 'delete' | 'append' }[]): Promise<KafkaProtocolError> {
  try {
    await admin.alterConfigs([{ type: 'group', name: group, configs }]);
  } catch (err) {
    assert.ok(err instanceof KafkaProtocolError, String(err));
    return err;
  }
  throw new Error('the change was accepted');
}

function join(c: RawClient, groupId: string) {
  return c.request(ApiKey.ConsumerGroupHeartbeat, 1, ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, {
    groupId,
    memberId: randomUuid(),
    memberEpoch: 0,
    rebalanceTimeoutMs: 30_000,
    subscribedTopicNames: [],
    topicPartitions: [],
  });
}

test('group configs: described with the broker values, overridden within the bounds, refused outside them, used by the coordinator', { timeout: 30_000 }, async () => {
  const b = await testBroker({ groupConsumerHeartbeatIntervalMs: 5000, groupConsumerSessionTimeoutMs: 45000 });
  const admin = new Admin({ bootstrap: b.bootstrap });
  const c = await RawClient.connect(b.port);
  try {
    // Any group id, existing or not.
    assert.deepEqual(await groupConfigs(admin, 'gc'), { [SESSION]: ['45000', 'DEFAULT_CONFIG'], [HEARTBEAT]: ['5000', 'DEFAULT_CONFIG'] });

    // Outside the broker's bounds (45000–60000, 5000–15000), unknown names, non-numbers, lists.
    const refused = async (configs: { name: string; value?: string; op?: 'set' | 'delete' | 'append' }[], message: string) => {
      const err = await alterError(admin, 'gc', configs);
      assert.equal(err.errorCode, ErrorCode.INVALID_CONFIG);
      assert.match(err.message, new RegExp(message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    };
    await refused([{ name: HEARTBEAT, value: '4999' }], `${HEARTBEAT} must be greater than or equal to group.consumer.min.heartbeat.interval.ms`);
    await refused([{ name: HEARTBEAT, value: '15001' }], `${HEARTBEAT} must be less than or equal to group.consumer.max.heartbeat.interval.ms`);
    await refused([{ name: SESSION, value: '44999' }], `${SESSION} must be greater than or equal to group.consumer.min.session.timeout.ms`);
    await refused([{ name: SESSION, value: '60001' }], `${SESSION} must be less than or equal to group.consumer.max.session.timeout.ms`);
    await refused([{ name: 'share.session.timeout.ms', value: '50000' }], 'Unknown group config name: share.session.timeout.ms');
    await refused([{ name: SESSION, value: 'soon' }], `Invalid value soon for configuration ${SESSION}: Not a number of type INT`);
    await refused([{ name: SESSION, value: '50000', op: 'append' }], `Config value append is not allowed for config key: ${SESSION}`);
    // validateOnly checks and changes nothing.
    await admin.alterConfigs([{ type: 'group', name: 'gc', configs: [{ name: HEARTBEAT, value: '6000' }] }], { validateOnly: true });
    assert.deepEqual((await groupConfigs(admin, 'gc'))[HEARTBEAT], ['5000', 'DEFAULT_CONFIG']);

    await admin.alterConfigs([{ type: 'group', name: 'gc', configs: [{ name: HEARTBEAT, value: '6000' }, { name: SESSION, value: '50000' }] }]);
    assert.deepEqual(await groupConfigs(admin, 'gc'), { [SESSION]: ['50000', 'GROUP_CONFIG'], [HEARTBEAT]: ['6000', 'GROUP_CONFIG'] });
    // The coordinator hands the group's interval to its members; other groups get the broker's.
    assert.equal((await join(c, 'gc')).heartbeatIntervalMs, 6000);
    assert.equal((await join(c, 'other')).heartbeatIntervalMs, 5000);
    // DELETE returns one config to the broker's value.
    await admin.alterConfigs([{ type: 'group', name: 'gc', configs: [{ name: HEARTBEAT, op: 'delete' }] }]);
    assert.deepEqual(await groupConfigs(admin, 'gc'), { [SESSION]: ['50000', 'GROUP_CONFIG'], [HEARTBEAT]: ['5000', 'DEFAULT_CONFIG'] });
  } finally {
    c.close();
    await admin.close();
    await b.close();
  }
});

test("group configs: a group's consumer.session.timeout.ms is the session after which its members are removed", { timeout: 30_000 }, async () => {
  const b = await testBroker({ groupConsumerSessionTimeoutMs: 60_000, groupConsumerMinSessionTimeoutMs: 100, groupConsumerMinHeartbeatIntervalMs: 10 });
  const admin = new Admin({ bootstrap: b.bootstrap });
  const c = await RawClient.connect(b.port);
  try {
    // The session must stay greater than the interval (the broker's value counts for one not given).
    const err = await alterError(admin, 'short', [{ name: SESSION, value: '100' }, { name: HEARTBEAT, value: '100' }]);
    assert.equal(err.errorCode, ErrorCode.INVALID_CONFIG);
    assert.match(err.message, /consumer\.session\.timeout\.ms must be greater than consumer\.heartbeat\.interval\.ms/);
    await admin.alterConfigs([{ type: 'group', name: 'short', configs: [{ name: SESSION, value: '300' }, { name: HEARTBEAT, value: '100' }] }]);
    const j = await join(c, 'short');
    assert.equal(j.errorCode, ErrorCode.NONE);
    assert.equal(j.heartbeatIntervalMs, 100);
    // Silent: removed after the group's 300 ms, long before the broker's 60 s.
    const deadline = Date.now() + 10_000;
    while (b.broker.groups.consumerGroupDescribe('short', false).members.length > 0) {
      assert.ok(Date.now() < deadline, 'the member was not removed after the group session timeout');
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    c.close();
    await admin.close();
    await b.close();
  }
});

for (const type of ['log', 'rocksdb'] as const) {
  test(`${type} engine: group configs survive a restart`, { timeout: 30_000 }, async () => {
    const data = tempDir();
    const start = () => testBroker({ storage: { type, path: data.dir } });
    let b = await start();
    try {
      let admin = new Admin({ bootstrap: b.bootstrap });
      await admin.alterConfigs([{ type: 'group', name: 'durable', configs: [{ name: SESSION, value: '55000' }] }]);
      await admin.close();
      await b.close();
      b = await start();
      admin = new Admin({ bootstrap: b.bootstrap });
      try {
        assert.deepEqual((await groupConfigs(admin, 'durable'))[SESSION], ['55000', 'GROUP_CONFIG']);
      } finally {
        await admin.close();
      }
    } finally {
      await b.close();
      data.remove();
    }
  });
}
