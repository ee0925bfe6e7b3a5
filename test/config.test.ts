/**
 * Configuration: the YAML schema (errors with key path and line:column), the seed's form, RAFKA_*
 * environment parsing, precedence (defaults < file < env < flags), topic names and topic configs.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CONFIG } from '../src/config/defaults.js';
import { ConfigError, loadConfig, parseConfigText } from '../src/config/load.js';
import {
  TOPIC_CONFIGS,
  TOPIC_CONFIG_NAMES,
  describeTopicConfig,
  isKnownTopicConfig,
  topicNamesCollide,
  validateTopicConfig,
  validateTopicConfigs,
  validateTopicName,
  CONFIG_SOURCE,
} from '../src/config/topic-configs.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLE = join(REPO, 'config', 'rafka.yaml');

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    assert.equal(e.code, 'RAFKA_CONFIG');
    return e;
  }
  assert.fail('expected a ConfigError');
}

function withTempFile(text: string, fn: (file: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'rafka-config-'));
  try {
    const file = join(dir, 'rafka.yaml');
    writeFileSync(file, text);
    fn(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('defaults', () => {
  test('Kafka defaults', () => {
    assert.equal(DEFAULT_CONFIG.host, '127.0.0.1');
    assert.equal(DEFAULT_CONFIG.port, 9092);
    // The standalone broker's default; embedded startBroker() uses EMBEDDED_STORAGE (memory).
    assert.equal(DEFAULT_CONFIG.storage.type, 'log');
    assert.equal(DEFAULT_CONFIG.storage.path, './data');
    assert.equal(DEFAULT_CONFIG.storage.fsync, 'always');
    assert.equal(DEFAULT_CONFIG.socketRequestMaxBytes, 104857600);
    assert.equal(DEFAULT_CONFIG.messageMaxBytes, 1048588);
    assert.equal(DEFAULT_CONFIG.fetchMaxBytes, 57671680);
    assert.equal(DEFAULT_CONFIG.maxConnections, 2147483647);
    const td = DEFAULT_CONFIG.topicDefaults;
    assert.equal(td['cleanup.policy'], 'delete');
    assert.equal(td['retention.ms'], '604800000');
    assert.equal(td['retention.bytes'], '-1');
    assert.equal(td['max.message.bytes'], '1048588');
    assert.equal(td['message.timestamp.type'], 'CreateTime');
    assert.equal(td['segment.bytes'], '1073741824');
    assert.equal(td['max.compaction.lag.ms'], '9223372036854775807');
    assert.equal(td['min.cleanable.dirty.ratio'], '0.5');
    assert.equal(td['local.retention.ms'], '-2');
    for (const [name, value] of Object.entries(td)) assert.equal(validateTopicConfig(name, value), null, name);
  });

  test('config/rafka.yaml is valid and equals the defaults', () => {
    assert.deepEqual(loadConfig({ file: EXAMPLE, env: {} }), DEFAULT_CONFIG);
  });

  test('no file, no env: the defaults', () => {
    assert.deepEqual(loadConfig({ env: {} }), DEFAULT_CONFIG);
  });

  test('an empty file means all defaults', () => {
    assert.deepEqual(parseConfigText('# nothing\n', 'x.yaml'), {});
  });
});

describe('schema errors name the key and its line:column', () => {
  test('unknown key, with a suggestion', () => {
    const e = configError(() => parseConfigText('port: 9092\nnmu.partitions: 3\n', 'config/rafka.yaml'));
    assert.equal(e.message, 'config/rafka.yaml:2:1: nmu.partitions: unknown key "nmu.partitions" (did you mean "num.partitions"?)');
    assert.equal(e.issues[0]!.line, 2);
    assert.equal(e.issues[0]!.col, 1);
  });

  test('unknown nested key', () => {
    const e = configError(() => parseConfigText('storage:\n  type: memory\n  pth: /x\n', 'r.yaml'));
    assert.match(e.message, /^r\.yaml:3:3: storage\.pth: unknown key "pth" \(did you mean "path"\?\)$/);
  });

  test('wrong type', () => {
    const e = configError(() => parseConfigText('host: localhost\nport: "abc"\n', 'r.yaml'));
    assert.equal(e.message, 'r.yaml:2:7: port: must be an integer (got "abc")');
    const b = configError(() => parseConfigText('auto.create.topics.enable: yes\n', 'r.yaml'));
    assert.equal(b.message, 'r.yaml:1:28: auto.create.topics.enable: must be true or false (got "yes")');
    const n = configError(() => parseConfigText('advertised.host: 5\n', 'r.yaml'));
    assert.equal(n.message, 'r.yaml:1:18: advertised.host: must be a string or null (got 5)');
  });

  test('bad enum value (seed spelling storage_type)', () => {
    const e = configError(() => parseConfigText('node.id: 1\nstorage:\n  storage_type: rocks\n', 'config/rafka.yaml'));
    assert.equal(e.message, 'config/rafka.yaml:3:17: storage.storage_type: must be one of memory, log, rocksdb, postgres (got "rocks")');
  });

  test('ranges', () => {
    const e = configError(() => parseConfigText('port: 70000\nnum.partitions: 0\nfetch.max.bytes: 10\n', 'r.yaml'));
    assert.deepEqual(e.message.split('\n'), [
      'r.yaml:1:7: port: must be <= 65535 (got 70000)',
      'r.yaml:2:17: num.partitions: must be >= 1 (got 0)',
      'r.yaml:3:18: fetch.max.bytes: must be >= 1024 (got 10)',
    ]);
    assert.equal(e.issues.length, 3);
  });

  test('YAML syntax errors carry the line', () => {
    const e = configError(() => parseConfigText('port: 9092\nstorage:\n  type: "memory\n', 'r.yaml'));
    assert.match(e.message, /^r\.yaml:3:\d+: YAML syntax error: /);
    const d = configError(() => parseConfigText('port: 1\nport: 2\n', 'r.yaml'));
    assert.match(d.message, /^r\.yaml:2:1: YAML syntax error: .*unique/);
  });

  test('the document must be a mapping', () => {
    const e = configError(() => parseConfigText('- port\n', 'r.yaml'));
    assert.match(e.message, /^r\.yaml:1:1: must be a mapping/);
  });

  test('hints for misplaced keys', () => {
    assert.match(configError(() => parseConfigText('retention.ms: 5\n')).message, /topic configs go under topic\.defaults/);
    assert.match(configError(() => parseConfigText('log:\n  level: info\n')).message, /write "log\.level: \.\.\."/);
    assert.match(configError(() => parseConfigText('storage.type: log\n')).message, /write it nested: storage: \{ type: \.\.\. \}/);
  });

  test('type and storage_type together are refused', () => {
    const e = configError(() => parseConfigText('storage:\n  type: log\n  storage_type: log\n', 'r.yaml'));
    assert.match(e.message, /^r\.yaml:3:3: storage: give either "type" or its alias "storage_type", not both$/);
  });

  test('a missing file is a ConfigError naming it', () => {
    const e = configError(() => loadConfig({ file: '/nonexistent/rafka.yaml', env: {} }));
    assert.match(e.message, /\/nonexistent\/rafka\.yaml: cannot read config file: no such file/);
  });
});

describe('accepted forms', () => {
  test("the seed's storage form", () => {
    const o = parseConfigText('storage: { storage_type: "rocksdb", path: "./data/rocksdb" }\n');
    assert.deepEqual(o, { storage: { type: 'rocksdb', path: './data/rocksdb' } });
    withTempFile('storage:\n  storage_type: "rocksdb"\n  path: "./data/rocksdb"\n', (file) => {
      const c = loadConfig({ file, env: {} });
      assert.deepEqual({ type: c.storage.type, path: c.storage.path }, { type: 'rocksdb', path: './data/rocksdb' });
    });
  });

  test('every setting', () => {
    const o = parseConfigText(
      [
        'host: 0.0.0.0',
        'port: 0',
        'advertised.host: kafka.example',
        'advertised.port: 19092',
        'node.id: 7',
        'cluster.id: abc',
        'storage: { type: log, path: /var/lib/rafka }',
        'auto.create.topics.enable: false',
        'num.partitions: 3',
        'default.replication.factor: 1',
        'socket.request.max.bytes: 1000',
        'max.in.flight.requests.per.connection: 5',
        'max.connections: 10',
        'connections.max.idle.ms: -1',
        'message.max.bytes: 2000',
        'fetch.max.bytes: 4096',
        'log.level: debug',
      ].join('\n'),
    );
    assert.deepEqual(o, {
      host: '0.0.0.0', port: 0, advertisedHost: 'kafka.example', advertisedPort: 19092, nodeId: 7, clusterId: 'abc',
      storage: { type: 'log', path: '/var/lib/rafka' }, autoCreateTopicsEnable: false, numPartitions: 3,
      defaultReplicationFactor: 1, socketRequestMaxBytes: 1000, maxInFlightRequestsPerConnection: 5, maxConnections: 10,
      connectionsMaxIdleMs: -1, messageMaxBytes: 2000, fetchMaxBytes: 4096, logLevel: 'debug',
    });
  });

  test('topic.defaults: Kafka names, exact longs, lists; message.max.bytes feeds max.message.bytes', () => {
    withTempFile(
      'message.max.bytes: 2000\ntopic.defaults:\n  retention.ms: 9223372036854775807\n  cleanup.policy: [compact, delete]\n  min.cleanable.dirty.ratio: 0.25\n  preallocate: true\n',
      (file) => {
        const c = loadConfig({ file, env: {} });
        assert.equal(c.topicDefaults['retention.ms'], '9223372036854775807');
        assert.equal(c.topicDefaults['cleanup.policy'], 'compact,delete');
        assert.equal(c.topicDefaults['min.cleanable.dirty.ratio'], '0.25');
        assert.equal(c.topicDefaults['preallocate'], 'true');
        assert.equal(c.topicDefaults['max.message.bytes'], '2000');
        assert.equal(c.topicDefaults['segment.bytes'], '1073741824');
      },
    );
  });

  test('topic.defaults values are validated like CreateTopics', () => {
    const e = configError(() =>
      parseConfigText('topic.defaults:\n  retention.ms: abc\n  log.retention.ms: 5\n  segment.bytes: 10\n  max.message.bytes: 5\n', 'r.yaml'),
    );
    assert.deepEqual(e.message.split('\n'), [
      'r.yaml:2:17: topic.defaults.retention.ms: Invalid value abc for configuration retention.ms: Not a number of type LONG',
      'r.yaml:3:3: topic.defaults.log.retention.ms: unknown topic config "log.retention.ms" (that is a broker setting; the topic config is "retention.ms")',
      'r.yaml:4:18: topic.defaults.segment.bytes: Invalid value 10 for configuration segment.bytes: Value must be at least 1048576',
      'r.yaml:5:3: topic.defaults.max.message.bytes: set the broker setting message.max.bytes instead (it is the broker-level synonym of max.message.bytes)',
    ]);
  });
});

describe('environment', () => {
  test('RAFKA_* variables, typed', () => {
    const c = loadConfig({
      env: {
        RAFKA_HOST: '0.0.0.0',
        RAFKA_PORT: '19092',
        RAFKA_STORAGE_TYPE: 'log',
        RAFKA_DATA_DIR: '/var/lib/rafka',
        RAFKA_NODE_ID: '3',
        RAFKA_CLUSTER_ID: 'my-cluster',
        RAFKA_ADVERTISED_HOST: 'broker.local',
        RAFKA_ADVERTISED_PORT: '29092',
        RAFKA_AUTO_CREATE_TOPICS_ENABLE: 'FALSE',
        RAFKA_NUM_PARTITIONS: '4',
        RAFKA_LOG_LEVEL: 'debug',
        RAFKA_SOCKET_REQUEST_MAX_BYTES: '5000',
        RAFKA_CONNECTIONS_MAX_IDLE_MS: '-1',
        RAFKA_TOPIC_DEFAULTS_RETENTION_MS: '1000',
        RAFKA_TOPIC_DEFAULTS_CLEANUP_POLICY: 'compact',
        RAFKA_SOMETHING_ELSE: 'ignored',
        RAFKA_PORTX: 'ignored',
      },
    });
    assert.equal(c.host, '0.0.0.0');
    assert.equal(c.port, 19092);
    assert.deepEqual({ type: c.storage.type, path: c.storage.path }, { type: 'log', path: '/var/lib/rafka' });
    assert.equal(c.nodeId, 3);
    assert.equal(c.clusterId, 'my-cluster');
    assert.equal(c.advertisedHost, 'broker.local');
    assert.equal(c.advertisedPort, 29092);
    assert.equal(c.autoCreateTopicsEnable, false);
    assert.equal(c.numPartitions, 4);
    assert.equal(c.logLevel, 'debug');
    assert.equal(c.socketRequestMaxBytes, 5000);
    assert.equal(c.connectionsMaxIdleMs, -1);
    assert.equal(c.topicDefaults['retention.ms'], '1000');
    assert.equal(c.topicDefaults['cleanup.policy'], 'compact');
  });

  test('empty means unset; null resets a nullable setting', () => {
    withTempFile('advertised.host: a.example\nport: 1234\n', (file) => {
      const c = loadConfig({ file, env: { RAFKA_ADVERTISED_HOST: 'null', RAFKA_PORT: '' } });
      assert.equal(c.advertisedHost, null);
      assert.equal(c.port, 1234);
    });
  });

  test('RAFKA_STORAGE_PATH wins the alias only when they agree', () => {
    assert.equal(loadConfig({ env: { RAFKA_STORAGE_PATH: '/a', RAFKA_DATA_DIR: '/a' } }).storage.path, '/a');
    const e = configError(() => loadConfig({ env: { RAFKA_STORAGE_PATH: '/a', RAFKA_DATA_DIR: '/b' } }));
    assert.match(e.message, /RAFKA_STORAGE_PATH: conflicts with RAFKA_DATA_DIR/);
  });

  test('bad values name the variable', () => {
    const e = configError(() =>
      loadConfig({
        env: {
          RAFKA_PORT: 'abc',
          RAFKA_AUTO_CREATE_TOPICS_ENABLE: 'maybe',
          RAFKA_NUM_PARTITIONS: '0',
          RAFKA_STORAGE_TYPE: 'rocks',
          RAFKA_TOPIC_DEFAULTS_RETENTION_MS: 'x',
          RAFKA_TOPIC_DEFAULTS_NOPE: '1',
        },
      }),
    );
    const lines = e.message.split('\n');
    assert.ok(lines.includes('environment variable RAFKA_PORT: must be an integer (got "abc")'), e.message);
    assert.ok(lines.includes('environment variable RAFKA_AUTO_CREATE_TOPICS_ENABLE: must be true or false (got "maybe")'), e.message);
    assert.ok(lines.includes('environment variable RAFKA_NUM_PARTITIONS: must be >= 1 (got 0)'), e.message);
    assert.ok(lines.includes('environment variable RAFKA_STORAGE_TYPE: must be one of memory, log, rocksdb, postgres (got "rocks")'), e.message);
    assert.ok(
      lines.includes('environment variable RAFKA_TOPIC_DEFAULTS_RETENTION_MS: Invalid value x for configuration retention.ms: Not a number of type LONG'),
      e.message,
    );
    assert.ok(lines.includes('environment variable RAFKA_TOPIC_DEFAULTS_NOPE: unknown topic config "nope"'), e.message);
    assert.ok(e.issues.every((i) => i.source === 'env' && i.variable?.startsWith('RAFKA_')));
  });

  test('RAFKA_CONFIG names the file; an explicit file wins; null means none', () => {
    withTempFile('port: 1111\n', (file) => {
      assert.equal(loadConfig({ env: { RAFKA_CONFIG: file } }).port, 1111);
      assert.equal(loadConfig({ file: null, env: { RAFKA_CONFIG: file } }).port, 9092);
      withTempFile('port: 2222\n', (other) => {
        assert.equal(loadConfig({ file: other, env: { RAFKA_CONFIG: file } }).port, 2222);
      });
    });
  });
});

describe('precedence: defaults < file < env < flags', () => {
  test('each layer overrides the one below, setting by setting', () => {
    withTempFile('port: 1111\nhost: 10.0.0.1\nnode.id: 5\nnum.partitions: 2\nstorage: { type: log, path: /file }\n', (file) => {
      const c = loadConfig({
        file,
        env: { RAFKA_PORT: '2222', RAFKA_NODE_ID: '6', RAFKA_STORAGE_PATH: '/env' },
        flags: { port: 3333, storage: { type: 'rocksdb' } },
      });
      assert.equal(c.port, 3333); // flag over env over file
      assert.equal(c.nodeId, 6); // env over file
      assert.equal(c.host, '10.0.0.1'); // file over default
      assert.equal(c.numPartitions, 2); // file
      assert.equal(c.advertisedHost, null); // default
      assert.deepEqual({ type: c.storage.type, path: c.storage.path }, { type: 'rocksdb', path: '/env' }); // storage fields merge individually
    });
  });

  test('topic defaults merge by name', () => {
    withTempFile('topic.defaults: { retention.ms: 1, segment.ms: 2 }\n', (file) => {
      const c = loadConfig({
        file,
        env: { RAFKA_TOPIC_DEFAULTS_SEGMENT_MS: '3' },
        flags: { topicDefaults: { 'retention.ms': '4' } },
      });
      assert.equal(c.topicDefaults['retention.ms'], '4');
      assert.equal(c.topicDefaults['segment.ms'], '3');
      assert.equal(c.topicDefaults['cleanup.policy'], 'delete');
    });
  });

  test('flags are validated too', () => {
    const e = configError(() => loadConfig({ env: {}, flags: { port: 70000, storage: { type: 'x' as 'log' } } }));
    assert.equal(e.source, 'flags');
    assert.deepEqual(e.message.split('\n'), ['--port: must be <= 65535 (got 70000)', '--storage: must be one of memory, log, rocksdb, postgres (got "x")']);
  });

  test('the result is a fresh object (DEFAULT_CONFIG stays untouched)', () => {
    const c = loadConfig({ env: {} });
    c.storage.type = 'memory';
    c.topicDefaults['retention.ms'] = '1';
    assert.equal(DEFAULT_CONFIG.storage.type, 'log');
    assert.equal(DEFAULT_CONFIG.topicDefaults['retention.ms'], '604800000');
  });
});

describe('topic names', () => {
  test("Kafka's rules and messages", () => {
    assert.equal(validateTopicName('orders.v1_x-y'), null);
    assert.equal(validateTopicName('a'.repeat(249)), null);
    assert.equal(validateTopicName(''), "Topic name is illegal, it can't be empty");
    assert.equal(validateTopicName('.'), 'Topic name cannot be "." or ".."');
    assert.equal(validateTopicName('..'), 'Topic name cannot be "." or ".."');
    assert.match(validateTopicName('a'.repeat(250))!, /can't be longer than 249 characters/);
    assert.equal(
      validateTopicName('bad topic'),
      `Topic name "bad topic" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`,
    );
    assert.notEqual(validateTopicName('tópico'), null);
    assert.notEqual(validateTopicName('a/b'), null);
  });

  test("collisions on '.' and '_'", () => {
    assert.equal(topicNamesCollide('a.b', 'a_b'), true);
    assert.equal(topicNamesCollide('a.b', 'a.b'), false);
    assert.equal(topicNamesCollide('a-b', 'a_b'), false);
  });
});

describe('topic configs', () => {
  test('known and unknown names', () => {
    assert.equal(isKnownTopicConfig('retention.ms'), true);
    assert.equal(isKnownTopicConfig('log.retention.ms'), false);
    assert.equal(validateTopicConfig('nope', '1'), 'Unknown topic config name: nope');
    assert.ok(TOPIC_CONFIG_NAMES.includes('cleanup.policy'));
    assert.ok(!TOPIC_CONFIG_NAMES.includes('internal.segment.bytes'));
    for (const def of TOPIC_CONFIGS.values()) assert.equal(def.sensitive, false, def.name);
  });

  test('synonyms', () => {
    assert.equal(TOPIC_CONFIGS.get('retention.ms')!.brokerSynonym, 'log.retention.ms');
    assert.equal(TOPIC_CONFIGS.get('max.message.bytes')!.brokerSynonym, 'message.max.bytes');
    assert.equal(TOPIC_CONFIGS.get('segment.bytes')!.brokerSynonym, 'log.segment.bytes');
    assert.equal(TOPIC_CONFIGS.get('cleanup.policy')!.brokerSynonym, 'log.cleanup.policy');
    assert.equal(TOPIC_CONFIGS.get('remote.storage.enable')!.brokerSynonym, null);
  });

  test('values: types, enums, lists, ranges', () => {
    const ok: Array<[string, string]> = [
      ['cleanup.policy', 'delete'],
      ['cleanup.policy', 'compact,delete'],
      ['cleanup.policy', 'delete, compact'],
      ['message.timestamp.type', 'LogAppendTime'],
      ['compression.type', 'zstd'],
      ['retention.ms', '-1'],
      ['retention.ms', '9223372036854775807'],
      ['retention.bytes', '-5'],
      ['max.message.bytes', '0'],
      ['segment.bytes', '1048576'],
      ['min.insync.replicas', '1'],
      ['min.cleanable.dirty.ratio', '0'],
      ['min.cleanable.dirty.ratio', '1.0'],
      ['preallocate', 'TRUE'],
      ['compression.gzip.level', '-1'],
      ['compression.gzip.level', '9'],
      ['leader.replication.throttled.replicas', '*'],
      ['leader.replication.throttled.replicas', '0:1,1:1'],
    ];
    for (const [n, v] of ok) assert.equal(validateTopicConfig(n, v), null, `${n}=${v}`);
    const bad: Array<[string, string, string]> = [
      ['retention.ms', 'abc', 'Invalid value abc for configuration retention.ms: Not a number of type LONG'],
      ['retention.ms', '-2', 'Invalid value -2 for configuration retention.ms: Value must be at least -1'],
      ['retention.ms', '9223372036854775808', 'Invalid value 9223372036854775808 for configuration retention.ms: Not a number of type LONG'],
      ['max.message.bytes', '2147483648', 'Invalid value 2147483648 for configuration max.message.bytes: Not a number of type INT'],
      ['max.message.bytes', '-1', 'Invalid value -1 for configuration max.message.bytes: Value must be at least 0'],
      ['segment.bytes', '13', 'Invalid value 13 for configuration segment.bytes: Value must be at least 1048576'],
      ['min.insync.replicas', '0', 'Invalid value 0 for configuration min.insync.replicas: Value must be at least 1'],
      ['min.cleanable.dirty.ratio', '1.5', 'Invalid value 1.5 for configuration min.cleanable.dirty.ratio: Value must be no more than 1'],
      ['min.cleanable.dirty.ratio', 'half', 'Invalid value half for configuration min.cleanable.dirty.ratio: Not a number of type DOUBLE'],
      ['cleanup.policy', 'compact,remove', 'Invalid value remove for configuration cleanup.policy: String must be one of: compact, delete'],
      [
        'message.timestamp.type',
        'createtime',
        'Invalid value createtime for configuration message.timestamp.type: String must be one of: CreateTime, LogAppendTime',
      ],
      [
        'compression.type',
        'brotli',
        'Invalid value brotli for configuration compression.type: String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer',
      ],
      ['preallocate', 'yes', 'Invalid value yes for configuration preallocate: Expected value to be either true or false'],
    ];
    for (const [n, v, msg] of bad) assert.equal(validateTopicConfig(n, v), msg, `${n}=${v}`);
    assert.notEqual(validateTopicConfig('compression.gzip.level', '0'), null);
    assert.notEqual(validateTopicConfig('leader.replication.throttled.replicas', 'x'), null);
  });

  test('a set of configs: first problem, and the compaction lag cross-check', () => {
    assert.equal(validateTopicConfigs({ 'retention.ms': '1', 'cleanup.policy': 'compact' }), null);
    assert.deepEqual(validateTopicConfigs([['x.y', '1']]), { name: 'x.y', message: 'Unknown topic config name: x.y' });
    assert.deepEqual(validateTopicConfigs({ 'min.compaction.lag.ms': '10', 'max.compaction.lag.ms': '5' }), {
      name: 'min.compaction.lag.ms',
      message: 'conflict topic config setting min.compaction.lag.ms (10) > max.compaction.lag.ms (5)',
    });
    assert.equal(validateTopicConfigs({ 'min.compaction.lag.ms': '10' }), null); // default max is Long.MAX
  });

  test('DescribeConfigs view: source and synonyms', () => {
    const dflt = describeTopicConfig('retention.ms', {}, DEFAULT_CONFIG.topicDefaults)!;
    assert.equal(dflt.value, '604800000');
    assert.equal(dflt.source, CONFIG_SOURCE.DEFAULT_CONFIG);
    assert.deepEqual(dflt.synonyms, [{ name: 'log.retention.hours', value: '168', source: CONFIG_SOURCE.DEFAULT_CONFIG }]);

    const topic = describeTopicConfig('retention.ms', { 'retention.ms': '1000' }, { ...DEFAULT_CONFIG.topicDefaults, 'retention.ms': '5000' })!;
    assert.equal(topic.value, '1000');
    assert.equal(topic.source, CONFIG_SOURCE.TOPIC_CONFIG);
    assert.deepEqual(
      topic.synonyms.map((s) => [s.name, s.value, s.source]),
      [
        ['retention.ms', '1000', CONFIG_SOURCE.TOPIC_CONFIG],
        ['log.retention.ms', '5000', CONFIG_SOURCE.STATIC_BROKER_CONFIG],
        ['log.retention.hours', '168', CONFIG_SOURCE.DEFAULT_CONFIG],
      ],
    );
    const broker = describeTopicConfig('segment.bytes', {}, { 'segment.bytes': '2097152' })!;
    assert.equal(broker.value, '2097152');
    assert.equal(broker.source, CONFIG_SOURCE.STATIC_BROKER_CONFIG);
    assert.equal(describeTopicConfig('nope', {}), undefined);
    assert.equal(describeTopicConfig('remote.storage.enable', {})!.synonyms.length, 0);
  });
});

describe('http.listener and log.format', () => {
  const FORM = 'must have the form HOST:PORT with a port 0-65535, e.g. 127.0.0.1:9644 ([::1]:9644 for IPv6)';

  test('off by default; HOST:PORT values, IPv6 in brackets, and null are accepted', () => {
    assert.equal(DEFAULT_CONFIG.httpListener, null);
    assert.equal(DEFAULT_CONFIG.logFormat, 'text');
    for (const v of ['127.0.0.1:9644', '0.0.0.0:0', '[::1]:9644', '[::]:65535', 'broker-1.internal:80', 'localhost:1']) {
      assert.equal(parseConfigText(`http.listener: "${v}"\n`, 'r.yaml').httpListener, v);
    }
    assert.equal(parseConfigText('http.listener: null\n', 'r.yaml').httpListener, null);
    assert.equal(loadConfig({ env: { RAFKA_HTTP_LISTENER: '127.0.0.1:9644', RAFKA_LOG_FORMAT: 'json' } }).httpListener, '127.0.0.1:9644');
    assert.equal(loadConfig({ env: { RAFKA_LOG_FORMAT: 'json' } }).logFormat, 'json');
  });

  test('bad values name the key, its line:column and the form expected', () => {
    for (const v of ['localhost', '127.0.0.1:65536', ':9644', '127.0.0.1:', 'a b:1', '127.0.0.1:-1', '::1:9644', 'http://127.0.0.1:9644']) {
      const e = configError(() => parseConfigText(`port: 9092\nhttp.listener: "${v}"\n`, 'r.yaml'));
      assert.equal(e.message, `r.yaml:2:16: http.listener: ${FORM} (got ${JSON.stringify(v)})`);
    }
    assert.equal(configError(() => parseConfigText('http.listener: 9644\n', 'r.yaml')).message, 'r.yaml:1:16: http.listener: must be a string or null (got 9644)');
    assert.equal(configError(() => parseConfigText('log.format: yaml\n', 'r.yaml')).message, 'r.yaml:1:13: log.format: must be one of text, json (got "yaml")');
    assert.equal(
      configError(() => loadConfig({ env: { RAFKA_HTTP_LISTENER: '9644' } })).message,
      `environment variable RAFKA_HTTP_LISTENER: ${FORM} (got "9644")`,
    );
  });
});

describe('inter-broker settings (Kafka names)', () => {
  const SASL = { RAFKA_LISTENERS: 'CLIENT://127.0.0.1:9092,INTERNAL://127.0.0.1:9093', RAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CLIENT:PLAINTEXT,INTERNAL:SASL_PLAINTEXT' };
  const CLUSTER = { ...SASL, RAFKA_STORAGE_TYPE: 'postgres', RAFKA_STORAGE_URL: 'postgres://rafka@127.0.0.1/rafka' };
  const jaas = 'org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="s3cret-pw";';

  test('the listener, the mechanism and the login from the environment; the secret never in a message', () => {
    const c = loadConfig({ env: { ...SASL, RAFKA_INTER_BROKER_LISTENER_NAME: 'INTERNAL', RAFKA_SASL_MECHANISM_INTER_BROKER_PROTOCOL: 'SCRAM-SHA-512', RAFKA_SASL_JAAS_CONFIG: jaas } });
    assert.equal(c.interBrokerListenerName, 'INTERNAL');
    assert.equal(c.saslMechanismInterBrokerProtocol, 'SCRAM-SHA-512');
    assert.equal(c.saslJaasConfig, jaas);
    assert.equal(loadConfig({ env: SASL }).interBrokerListenerName, null, 'default: the first listener (CLIENT, PLAINTEXT: no login needed)');
  });

  test('refused in a cluster (storage postgres): an unknown listener, a SASL inter-broker listener without a login or with a mechanism not enabled', () => {
    assert.match(configError(() => loadConfig({ env: { ...SASL, RAFKA_INTER_BROKER_LISTENER_NAME: 'REPLICATION' } })).message, /inter\.broker\.listener\.name: REPLICATION is not one of the listeners \(CLIENT, INTERNAL\)/);
    // A broker alone never logs in to another: a SASL first listener needs no login of its own.
    assert.equal(loadConfig({ env: { ...SASL, RAFKA_INTER_BROKER_LISTENER_NAME: 'INTERNAL' } }).saslJaasConfig, null);
    assert.match(configError(() => loadConfig({ env: { ...CLUSTER, RAFKA_INTER_BROKER_LISTENER_NAME: 'INTERNAL' } })).message, /sasl\.jaas\.config: the inter-broker listener uses SASL/);
    const noPassword = configError(() => loadConfig({ env: { ...CLUSTER, RAFKA_INTER_BROKER_LISTENER_NAME: 'INTERNAL', RAFKA_SASL_JAAS_CONFIG: jaas.replace(' password="s3cret-pw"', '') } }));
    assert.match(noPassword.message, /sasl\.jaas\.config: give both username/);
    const malformed = configError(() => loadConfig({ env: { ...CLUSTER, RAFKA_INTER_BROKER_LISTENER_NAME: 'INTERNAL', RAFKA_SASL_JAAS_CONFIG: jaas.replace(/;$/, '') } }));
    assert.match(malformed.message, /sasl\.jaas\.config: expected/);
    assert.ok(!malformed.message.includes('s3cret-pw'), malformed.message);
    const notEnabled = configError(() =>
      loadConfig({ env: { ...CLUSTER, RAFKA_INTER_BROKER_LISTENER_NAME: 'INTERNAL', RAFKA_SASL_JAAS_CONFIG: jaas, RAFKA_SASL_ENABLED_MECHANISMS: 'SCRAM-SHA-256', RAFKA_SASL_MECHANISM_INTER_BROKER_PROTOCOL: 'SCRAM-SHA-512' } }),
    );
    assert.match(notEnabled.message, /sasl\.mechanism\.inter\.broker\.protocol: SCRAM-SHA-512 must be in sasl\.enabled\.mechanisms/);
  });
});
