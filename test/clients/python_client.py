#!/usr/bin/env python3
"""Drive confluent-kafka (librdkafka) against a Rafka broker for test/compat-python.test.ts.

Usage: python3 test/clients/python_client.py < job.json

The job (JSON on stdin) names a mode:
  {"mode": "produce-consume", "bootstrap": "host:port", "topic": "...", "partitions": 4,
   "messages": [{"k": b64|null, "v": b64|null, "h": [[name, b64|null], ...], "ts": ms}, ...]}
  {"mode": "admin", "bootstrap": "host:port", "topic": "..."}
  {"mode": "group-first", "bootstrap": "host:port", "topic": "...", "group": "...", "partitions": 3, "first": 40}
  {"mode": "group-second", "bootstrap": "host:port", "topic": "...", "group": "...", "partitions": 3, "remaining": 50}
  {"mode": "txn-offsets", "bootstrap": "host:port", "topic": "...", "group": "...", "txn_id": "..."}
  {"mode": "txn-records", "bootstrap": "host:port", "topic": "...", "group": "...", "txn_id": "..."}
  {"mode": "read", "bootstrap": "host:port", "topic": "...", "group": "...", "isolation": "read_committed"}
  {"mode": "kip848-members", "bootstrap": "host:port", "topic": "...", "group": "...", "partitions": 4, "total": 80}
  {"mode": "kip848-resume", "bootstrap": "host:port", "topic": "...", "group": "...", "want": 10}
  {"mode": "kip848-regex", "bootstrap": "host:port", "group": "...", "prefix": "pyrx-"}

Optional "debug" (e.g. "protocol,broker") sets librdkafka's debug contexts; its log goes to stderr.
Optional "config" ({"security.protocol": "SASL_SSL", ...}) is added to every client's settings.
It prints one JSON document with what each step returned on stdout; byte strings are base64 (or
null). librdkafka errors and logs go to stderr, and error_cb errors are also listed in the result
under "errors" so the test can assert there were none. Every wait is bounded: nothing here hangs.
"""
import base64
import json
import logging
import sys
import time
import warnings

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka import ConsumerGroupTopicPartitions
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic,
                                   ResourceType)

TIMEOUT = 15.0

errors = []
logging.basicConfig(stream=sys.stderr, level=logging.DEBUG, format='%(asctime)s %(name)s %(message)s')
log = logging.getLogger('librdkafka')


def error_cb(err):
    errors.append({'code': err.code(), 'name': err.name(), 'str': err.str()})
    print(f'librdkafka error: {err}', file=sys.stderr, flush=True)


def b64(b):
    return None if b is None else base64.b64encode(b).decode('ascii')


def unb64(s):
    return None if s is None else base64.b64decode(s)


def common(job):
    conf = {'bootstrap.servers': job['bootstrap'], 'error_cb': error_cb, 'logger': log}
    if job.get('debug'):
        conf['debug'] = job['debug']
    # Security and other client settings, e.g. security.protocol=SASL_SSL (test/security-clients.test.ts)
    conf.update(job.get('config', {}))
    return conf


def future_result(fut):
    """A future's outcome as JSON: {"ok": true, "value": ...} or {"ok": false, "error": ...}."""
    try:
        value = fut.result(timeout=TIMEOUT)
        return {'ok': True, 'value': value}
    except KafkaException as e:
        err = e.args[0]
        return {'ok': False, 'error': {'code': err.code(), 'name': err.name(), 'str': err.str()}}
    except Exception as e:  # timeouts and anything else: report, never hang
        return {'ok': False, 'error': {'code': None, 'name': type(e).__name__, 'str': str(e)}}


def call(fn):
    """fn()'s outcome as JSON, like future_result: a failing step is reported, not fatal."""
    try:
        return {'ok': True, 'value': fn()}
    except KafkaException as e:
        err = e.args[0]
        print(f'step failed: {err}', file=sys.stderr, flush=True)
        return {'ok': False, 'error': {'code': err.code(), 'name': err.name(), 'str': err.str()}}


def metadata_json(md, topic=None):
    topics = {}
    for name, t in md.topics.items():
        if topic is not None and name != topic:
            continue
        topics[name] = {
            'error': None if t.error is None else t.error.name(),
            'partitions': {str(p.id): {'leader': p.leader, 'replicas': list(p.replicas), 'isrs': list(p.isrs),
                                       'error': None if p.error is None else p.error.name()}
                           for p in t.partitions.values()},
        }
    return {
        'cluster_id': md.cluster_id,
        'controller_id': md.controller_id,
        'brokers': {str(b.id): {'host': b.host, 'port': b.port} for b in md.brokers.values()},
        'topics': topics,
    }


def describe_topic_configs(admin, topic):
    res = ConfigResource(ResourceType.TOPIC, topic)
    out = future_result(admin.describe_configs([res])[res])
    if out['ok']:
        out['value'] = {name: {'value': e.value, 'is_default': e.is_default, 'is_read_only': e.is_read_only,
                               'is_sensitive': e.is_sensitive, 'source': int(e.source)}
                        for name, e in out['value'].items()}
    return out


def create_topic(admin, topic, partitions):
    out = future_result(admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)],
                                            operation_timeout=10, request_timeout=TIMEOUT)[topic])
    out.pop('value', None)  # None on success
    return out


def produce_consume(job):
    topic, partitions = job['topic'], job['partitions']
    result = {'timings': {}}
    started = time.monotonic()

    def mark(step):
        nonlocal started
        now = time.monotonic()
        result['timings'][step] = round(now - started, 3)
        started = now

    admin = AdminClient(common(job))
    result['create'] = create_topic(admin, topic, partitions)
    result['metadata'] = call(lambda: metadata_json(admin.list_topics(topic=topic, timeout=TIMEOUT), topic))
    result['all_topics'] = call(lambda: sorted(admin.list_topics(timeout=TIMEOUT).topics.keys()))
    mark('admin')

    # --- produce (idempotent), one delivery report per message, in produce order
    producer = Producer({**common(job), 'enable.idempotence': True, 'acks': 'all', 'linger.ms': 5})
    messages = job['messages']
    deliveries = [None] * len(messages)

    def on_delivery(index):
        def cb(err, msg):
            if err is not None:
                print(f'delivery failed for message {index}: {err}', file=sys.stderr, flush=True)
                deliveries[index] = {'error': err.name()}
            else:
                ts_type, ts = msg.timestamp()
                deliveries[index] = {'error': None, 'partition': msg.partition(), 'offset': msg.offset(),
                                     'timestamp': ts, 'timestamp_type': ts_type}
        return cb

    for i, m in enumerate(messages):
        headers = [(name, unb64(v)) for name, v in m['h']]
        while True:
            try:
                producer.produce(topic, key=unb64(m['k']), value=unb64(m['v']), headers=headers,
                                 timestamp=m.get('ts', 0), on_delivery=on_delivery(i))
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    result['unflushed'] = producer.flush(TIMEOUT)
    result['deliveries'] = deliveries
    mark('produce')

    # --- consume by explicit assignment: no subscribe(), no commits
    consumer = Consumer({**common(job), 'group.id': 'unused', 'enable.auto.commit': False,
                         'enable.auto.offset.store': False, 'enable.partition.eof': True})
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
    consumed = []
    at_eof = set()
    deadline = time.monotonic() + TIMEOUT
    while len(at_eof) < partitions and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error() is not None:
            if msg.error().code() == KafkaError._PARTITION_EOF:
                # EOF also fires for an empty partition; keep polling until all are at EOF after the data
                at_eof.add(msg.partition())
            else:
                print(f'consume error: {msg.error()}', file=sys.stderr, flush=True)
                consumed.append({'error': msg.error().name(), 'partition': msg.partition()})
            continue
        at_eof.discard(msg.partition())
        ts_type, ts = msg.timestamp()
        consumed.append({'partition': msg.partition(), 'offset': msg.offset(), 'k': b64(msg.key()),
                         'v': b64(msg.value()), 'h': [[n, b64(v)] for n, v in (msg.headers() or [])],
                         'timestamp': ts, 'timestamp_type': ts_type})
    result['consumed'] = consumed
    result['eof_partitions'] = sorted(at_eof)
    consumer.close()
    mark('consume')

    # --- watermarks and offsets_for_times (ListOffsets). A fresh consumer with nothing assigned: the
    # broker answers one connection's requests in order, so behind the assigned consumer's long-polling
    # Fetch every query would wait fetch.wait.max.ms.
    consumer = Consumer({**common(job), 'group.id': 'unused', 'enable.auto.commit': False})
    result['watermarks'] = {}
    for p in range(partitions):
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=TIMEOUT, cached=False)
        result['watermarks'][str(p)] = [low, high]

    # For every partition: the timestamp of its middle message, its first message's, and one past the end
    queries = []
    by_partition = {}
    for m in consumed:
        if 'error' not in m:
            by_partition.setdefault(m['partition'], []).append(m)
    for p, msgs in sorted(by_partition.items()):
        mid = msgs[len(msgs) // 2]
        queries.append((p, mid['timestamp']))
        queries.append((p, msgs[0]['timestamp']))
        queries.append((p, mid['timestamp'] - 1))
        queries.append((p, max(x['timestamp'] for x in msgs) + 1))
    times = []
    for p, ts in queries:  # one partition per request: the answers cannot be mixed up
        tps = consumer.offsets_for_times([TopicPartition(topic, p, ts)], timeout=TIMEOUT)
        times.append({'partition': p, 'timestamp': ts, 'offset': tps[0].offset,
                      'error': None if tps[0].error is None else tps[0].error.name()})
    result['offsets_for_times'] = times
    consumer.close()
    mark('list-offsets')
    result['errors'] = errors
    return result


def admin(job):
    topic = job['topic']
    result = {}
    admin = AdminClient(common(job))
    result['create'] = create_topic(admin, topic, 2)
    result['create_again'] = create_topic(admin, topic, 2)
    result['describe_before'] = describe_topic_configs(admin, topic)

    res = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[
        ConfigEntry('retention.ms', '7200000', incremental_operation=AlterConfigOpType.SET),
        ConfigEntry('max.message.bytes', '2000000', incremental_operation=AlterConfigOpType.SET)])
    out = future_result(admin.incremental_alter_configs([res])[res])
    out.pop('value', None)
    result['incremental_set'] = out
    result['describe_after_incremental_set'] = describe_topic_configs(admin, topic)

    # The legacy AlterConfigs replaces the topic's whole set of overrides.
    res = ConfigResource(ResourceType.TOPIC, topic, set_config={'retention.ms': '3600000'})
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DeprecationWarning)
        out = future_result(admin.alter_configs([res])[res])
    out.pop('value', None)
    result['alter'] = out
    result['describe_after_alter'] = describe_topic_configs(admin, topic)

    res = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[
        ConfigEntry('retention.ms', None, incremental_operation=AlterConfigOpType.DELETE)])
    out = future_result(admin.incremental_alter_configs([res])[res])
    out.pop('value', None)
    result['incremental_delete'] = out
    result['describe_after_incremental_delete'] = describe_topic_configs(admin, topic)

    res = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[
        ConfigEntry('no.such.config', '1', incremental_operation=AlterConfigOpType.SET)])
    out = future_result(admin.incremental_alter_configs([res])[res])
    out.pop('value', None)
    result['incremental_unknown'] = out

    out = future_result(admin.delete_topics([topic], operation_timeout=10, request_timeout=TIMEOUT)[topic])
    out.pop('value', None)
    result['delete'] = out
    # All-topics metadata: asking for the topic by name could auto-create it again.
    result['topics_after_delete'] = call(lambda: sorted(admin.list_topics(timeout=TIMEOUT).topics.keys()))
    out = future_result(admin.delete_topics([topic], operation_timeout=10, request_timeout=TIMEOUT)[topic])
    out.pop('value', None)
    result['delete_again'] = out
    result['errors'] = errors
    return result


def tp_json(tp):
    return {'partition': tp.partition, 'offset': tp.offset, 'metadata': getattr(tp, 'metadata', None),
            'error': None if tp.error is None else tp.error.name()}


def consume_group(consumer, want, eof_partitions, deadline):
    """Poll a subscribed consumer until it has `want` messages or every partition in
    eof_partitions (a set it fills) reached its end; errors other than EOF are recorded."""
    consumed = []
    while len(consumed) < want and time.monotonic() < deadline:
        m = consumer.poll(0.2)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                eof_partitions.add(m.partition())
            else:
                consumed.append({'error': m.error().name()})
            continue
        consumed.append({'partition': m.partition(), 'offset': m.offset(), 'v': b64(m.value())})
    return consumed


def group_conf(job):
    conf = common(job)
    conf.update({'group.id': job['group'], 'enable.auto.commit': False, 'auto.offset.reset': 'earliest',
                 'enable.partition.eof': True, 'session.timeout.ms': 6000, 'heartbeat.interval.ms': 500})
    return conf


def group_first(job):
    """Consumer groups with manual commits, first member: consume `first` messages, commit the
    positions (with metadata), report committed() and position(), list and describe the group
    while in it (AdminClient), and leave."""
    topic, group_id, partitions = job['topic'], job['group'], job['partitions']
    all_tps = [TopicPartition(topic, p) for p in range(partitions)]
    result = {}
    deadline = time.monotonic() + 2 * TIMEOUT
    first = Consumer(group_conf(job))
    assigned = []
    first.subscribe([topic], on_assign=lambda c, tps: assigned.extend(tp.partition for tp in tps))
    result['first'] = consume_group(first, job['first'], set(), deadline)
    result['assigned'] = sorted(assigned)
    positions = first.position(all_tps)
    to_commit = [TopicPartition(topic, tp.partition, tp.offset, f'meta-{tp.partition}') for tp in positions if tp.offset >= 0]
    result['commit'] = call(lambda: [tp_json(x) for x in first.commit(offsets=to_commit, asynchronous=False)])
    result['committed'] = call(lambda: [tp_json(x) for x in first.committed(all_tps, timeout=TIMEOUT)])
    result['position'] = [tp_json(x) for x in first.position(all_tps)]
    admin = AdminClient(common(job))
    listed = future_result(admin.list_consumer_groups(request_timeout=TIMEOUT))
    if listed['ok']:
        listed['value'] = [{'group_id': g.group_id, 'is_simple': g.is_simple_consumer_group, 'state': g.state.name}
                           for g in listed['value'].valid]
    result['listed'] = listed
    described = future_result(admin.describe_consumer_groups([group_id], request_timeout=TIMEOUT)[group_id])
    if described['ok']:
        d = described['value']
        described['value'] = {'group_id': d.group_id, 'state': d.state.name, 'is_simple': d.is_simple_consumer_group,
                              'assignor': d.partition_assignor,
                              'members': [{'client_id': m.client_id, 'host': m.host,
                                           'partitions': sorted(tp.partition for tp in m.assignment.topic_partitions)}
                                          for m in d.members]}
    result['described'] = described
    first.close()
    result['errors'] = errors
    return result


def group_second(job):
    """Second member of the group: consume to the end of every partition and commit; then the
    AdminClient on the empty group: its offsets, an alteration, and deleting the group."""
    topic, group_id, partitions = job['topic'], job['group'], job['partitions']
    all_tps = [TopicPartition(topic, p) for p in range(partitions)]
    result = {}
    deadline = time.monotonic() + 2 * TIMEOUT
    second = Consumer(group_conf(job))
    second.subscribe([topic])
    eof = set()
    result['second'] = consume_group(second, job['remaining'], eof, deadline)
    # Read to the end of every partition, so a message delivered twice would show up.
    while len(eof) < partitions and time.monotonic() < deadline:
        result['second'].extend(consume_group(second, 1, eof, min(deadline, time.monotonic() + 1)))
    result['second_commit'] = call(lambda: [tp_json(x) for x in second.commit(asynchronous=False)])
    second.close()

    admin = AdminClient(common(job))
    offs = future_result(admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group_id, all_tps)],
                                                           request_timeout=TIMEOUT)[group_id])
    if offs['ok']:
        offs['value'] = [tp_json(x) for x in offs['value'].topic_partitions]
    result['admin_offsets'] = offs
    alter = ConsumerGroupTopicPartitions(group_id, [TopicPartition(topic, 0, 1)])
    out = future_result(admin.alter_consumer_group_offsets([alter], request_timeout=TIMEOUT)[group_id])
    if out['ok']:
        out['value'] = [tp_json(x) for x in out['value'].topic_partitions]
    result['admin_alter'] = out
    out = future_result(admin.delete_consumer_groups([group_id], request_timeout=TIMEOUT)[group_id])
    out.pop('value', None)
    result['admin_delete'] = out
    result['errors'] = errors
    return result


def txn_offsets(job):
    """A transactional producer without records (their markers need the log side): init_transactions,
    a transaction with send_offsets_to_transaction that is aborted, one that commits, then a second
    producer with the same transactional.id fencing the first mid-transaction. The group's committed
    offset is read back after each step."""
    topic = job['topic']
    conf = common(job)
    conf.update({'transactional.id': job['txn_id'], 'transaction.timeout.ms': 60000})
    consumer = Consumer(group_conf(job))
    meta = consumer.consumer_group_metadata()
    tp0 = [TopicPartition(topic, 0)]
    committed = lambda: call(lambda: [tp_json(x) for x in consumer.committed(tp0, timeout=TIMEOUT)])
    result = {}
    p = Producer(conf)
    result['init'] = call(lambda: p.init_transactions(TIMEOUT))
    result['begin1'] = call(p.begin_transaction)
    result['send1'] = call(lambda: p.send_offsets_to_transaction([TopicPartition(topic, 0, 3)], meta, TIMEOUT))
    result['abort'] = call(lambda: p.abort_transaction(TIMEOUT))
    result['after_abort'] = committed()
    result['begin2'] = call(p.begin_transaction)
    result['send2'] = call(lambda: p.send_offsets_to_transaction([TopicPartition(topic, 0, 5)], meta, TIMEOUT))
    result['commit'] = call(lambda: p.commit_transaction(TIMEOUT))
    result['after_commit'] = committed()
    result['begin3'] = call(p.begin_transaction)
    result['send3'] = call(lambda: p.send_offsets_to_transaction([TopicPartition(topic, 0, 9)], meta, TIMEOUT))
    second = Producer(conf)
    result['second_init'] = call(lambda: second.init_transactions(TIMEOUT))
    result['zombie_commit'] = call(lambda: p.commit_transaction(TIMEOUT))
    result['after_fence'] = committed()
    second.flush(TIMEOUT)
    consumer.close()
    result['errors'] = errors
    return result


def read_all(job, isolation):
    """Every value of partition 0 of job's topic from the beginning to its end, at `isolation`."""
    c = Consumer({**common(job), 'group.id': job['group'] + '-' + isolation, 'isolation.level': isolation,
                  'enable.auto.commit': False, 'enable.partition.eof': True, 'auto.offset.reset': 'earliest'})
    c.assign([TopicPartition(job['topic'], 0, OFFSET_BEGINNING)])
    values = []
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                break
            values.append({'error': m.error().name()})
            continue
        values.append(m.value().decode('utf8'))
    c.close()
    return values


def txn_records(job):
    """A transactional producer writing records: one transaction aborted, one committed; then what a
    read_committed and a read_uncommitted consumer each see of the partition."""
    topic = job['topic']
    conf = common(job)
    conf.update({'transactional.id': job['txn_id'], 'transaction.timeout.ms': 60000})
    result = {}
    p = Producer(conf)
    result['init'] = call(lambda: p.init_transactions(TIMEOUT))
    result['begin1'] = call(p.begin_transaction)
    for v in ('aborted-1', 'aborted-2'):
        p.produce(topic, value=v.encode('utf8'), partition=0)
    result['flush1'] = p.flush(TIMEOUT)  # sent and in the log: abort_transaction purges what is unsent
    result['abort'] = call(lambda: p.abort_transaction(TIMEOUT))
    result['begin2'] = call(p.begin_transaction)
    for v in ('committed-1', 'committed-2'):
        p.produce(topic, value=v.encode('utf8'), partition=0)
    result['commit'] = call(lambda: p.commit_transaction(TIMEOUT))
    result['read_committed'] = read_all(job, 'read_committed')
    result['read_uncommitted'] = read_all(job, 'read_uncommitted')
    result['errors'] = errors
    return result


def read(job):
    """Every value of partition 0 of job's topic, at job['isolation'] (what another client wrote)."""
    return {'values': read_all(job, job['isolation']), 'errors': errors}


def kip848_conf(job):
    """A consumer of the KIP-848 protocol: librdkafka refuses the classic session and heartbeat settings there."""
    conf = common(job)
    conf.update({'group.id': job['group'], 'group.protocol': 'consumer', 'enable.auto.commit': False,
                 'auto.offset.reset': 'earliest'})
    return conf


def poll_commit(consumer, seen):
    """One poll; a record is noted (topic/partition/offset) and committed synchronously."""
    m = consumer.poll(0.1)
    if m is None:
        return
    if m.error():
        seen.append({'error': m.error().name()})
        return
    seen.append(f'{m.topic()}/{m.partition()}/{m.offset()}')
    consumer.commit(message=m, asynchronous=False)


def assignment_of(consumer):
    return sorted(f'{tp.topic}:{tp.partition}' for tp in consumer.assignment())


def kip848_members(job):
    """Two members of a consumer-protocol group share a topic: the first alone, then both until every
    record was read; each record is committed as it is read. Reports what each read and owned."""
    topic, total = job['topic'], job['total']
    deadline = time.monotonic() + 3 * TIMEOUT
    c1 = Consumer(kip848_conf(job))
    c1.subscribe([topic])
    read1, read2 = [], []
    while len(read1) < total // 4 and time.monotonic() < deadline:
        poll_commit(c1, read1)
    alone = assignment_of(c1)
    c2 = Consumer(kip848_conf(job))
    c2.subscribe([topic])
    shared = None
    while time.monotonic() < deadline:
        poll_commit(c1, read1)
        poll_commit(c2, read2)
        a1, a2 = assignment_of(c1), assignment_of(c2)
        if a1 and a2 and shared is None:
            shared = [a1, a2]
        if len({x for x in read1 + read2 if isinstance(x, str)}) >= total and shared is not None:
            break
    admin = AdminClient(common(job))
    listed = future_result(admin.list_consumer_groups(request_timeout=TIMEOUT))
    if listed['ok']:
        listed['value'] = [{'group_id': g.group_id, 'type': g.type.name if g.type is not None else None,
                            'state': g.state.name} for g in listed['value'].valid]
    described = future_result(admin.describe_consumer_groups([job['group']], request_timeout=TIMEOUT)[job['group']])
    if described['ok']:
        d = described['value']
        described['value'] = {'state': d.state.name, 'type': d.type.name if getattr(d, 'type', None) is not None else None,
                              'members': sorted(sorted(f'{tp.topic}:{tp.partition}' for tp in m.assignment.topic_partitions)
                                                for m in d.members)}
    final = [assignment_of(c1), assignment_of(c2)]
    c1.close()
    c2.close()
    return {'alone': alone, 'shared': shared, 'final': final, 'read1': read1, 'read2': read2,
            'listed': listed, 'described': described, 'errors': errors}


def kip848_resume(job):
    """A new member of the group reads what came after the commits: `want` records, then 1 s more."""
    c = Consumer(kip848_conf(job))
    c.subscribe([job['topic']])
    read = []
    deadline = time.monotonic() + 2 * TIMEOUT
    while len(read) < job['want'] and time.monotonic() < deadline:
        poll_commit(c, read)
    extra_until = time.monotonic() + 1.0
    while time.monotonic() < extra_until:
        poll_commit(c, read)
    c.close()
    return {'read': read, 'errors': errors}


def kip848_regex(job):
    """A regex subscription (server-side with the consumer protocol) picks up a topic created after it
    joined: the job creates `prefix`new with 2 partitions, produces 10 records, and reads them."""
    prefix = job['prefix']
    c = Consumer(kip848_conf(job))
    c.subscribe([f'^{prefix}.*'])
    read = []
    until = time.monotonic() + 2.0
    while time.monotonic() < until:
        poll_commit(c, read)
    before = assignment_of(c)
    admin = AdminClient(common(job))
    created = create_topic(admin, f'{prefix}new', 2)
    p = Producer(common(job))
    for i in range(10):
        p.produce(f'{prefix}new', value=f'r{i}'.encode(), partition=i % 2)
    p.flush(TIMEOUT)
    deadline = time.monotonic() + 2 * TIMEOUT
    while len(read) < 10 and time.monotonic() < deadline:
        poll_commit(c, read)
    after = assignment_of(c)
    c.close()
    return {'before': before, 'after': after, 'created': created, 'read': read, 'errors': errors}


def main():
    job = json.load(sys.stdin)
    modes = {'produce-consume': produce_consume, 'admin': admin, 'group-first': group_first, 'group-second': group_second,
             'txn-offsets': txn_offsets, 'txn-records': txn_records, 'read': read, 'kip848-members': kip848_members,
             'kip848-resume': kip848_resume, 'kip848-regex': kip848_regex}
    result = modes[job['mode']](job)
    json.dump(result, sys.stdout)
    sys.stdout.write('\n')
    sys.stdout.flush()


if __name__ == '__main__':
    main()
