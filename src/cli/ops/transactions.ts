/**
 * `rafka transactions list|describe` and `rafka producers describe TOPIC[:PARTITION]` (KIP-664, as
 * kafka-transactions.sh list / describe / describe-producers): ListTransactions at every broker,
 * DescribeTransactions at each id's transaction coordinator, DescribeProducers at each partition's
 * leader.
 */
import type { Command } from 'commander';
import { collect, intArg, isoTime, parseTopicPartition, printJson, printTable, withAdmin, withCommon, type CommonOptions, type OpsIO } from './common.js';
import { KafkaProtocolError } from '../../client/errors.js';
import { ErrorCode } from '../../protocol/error-codes.js';

/** Kafka's transaction states, the values --state takes. */
const STATES = ['Empty', 'Ongoing', 'PrepareCommit', 'PrepareAbort', 'CompleteCommit', 'CompleteAbort', 'Dead', 'PrepareEpochFence'];

export function transactionsCommand(program: Command, io: OpsIO): void {
  const txns = program.command('transactions').description('list and describe transactional ids');

  withCommon(txns.command('list').description('transactional ids the brokers coordinate'))
    .option('-s, --state <state>', `only in this state (repeatable): ${STATES.join(', ')}`, collect(String))
    .option('--producer-id <id>', 'only of this producer id (repeatable)', collect(intArg(0)))
    .option('--duration-ms <ms>', 'only transactions running longer than this (needs ListTransactions v1)', intArg(0))
    .action(async (opts: CommonOptions & { state?: string[]; producerId?: number[]; durationMs?: number }) => {
      await withAdmin(opts, io, async (admin) => {
        const list = await admin.listTransactions({ states: opts.state, producerIds: opts.producerId, durationFilterMs: opts.durationMs });
        if (opts.json) return printJson(io, list);
        await printTable(io, ['TRANSACTIONAL-ID', 'COORDINATOR', 'PRODUCER-ID', 'STATE'], list.map((t) => [t.transactionalId, t.coordinatorId, t.producerId, t.state]));
      });
    });

  withCommon(txns.command('describe').description('state, producer, timeout and partitions of transactional ids'))
    .argument('<transactional-id...>', 'transactional ids')
    .action(async (ids: string[], opts: CommonOptions) => {
      await withAdmin(opts, io, async (admin) => {
        const described = await admin.describeTransactions(ids);
        if (opts.json) return printJson(io, described);
        const now = Date.now();
        await printTable(
          io,
          ['TRANSACTIONAL-ID', 'COORDINATOR', 'PRODUCER-ID', 'EPOCH', 'STATE', 'TIMEOUT-MS', 'STARTED', 'DURATION-MS', 'PARTITIONS'],
          described.map((t) => [
            t.transactionalId,
            t.coordinatorId,
            t.producerId,
            t.producerEpoch,
            t.state,
            t.transactionTimeoutMs,
            isoTime(t.transactionStartTimeMs),
            // A duration only for a transaction still running (Kafka keeps the last start time after it ends).
            t.state === 'Ongoing' && t.transactionStartTimeMs !== null ? Math.max(0, now - t.transactionStartTimeMs) : null,
            t.topicPartitions.map((tp) => `${tp.topic}-${tp.partition}`).join(','),
          ]),
        );
      });
    });

  const producers = program.command('producers').description('producers the partition leaders hold state for');
  withCommon(producers.command('describe').description('active producers (idempotent and transactional) of a topic or partition'))
    .argument('<topic[:partition]>', 'a topic (all its partitions) or one partition')
    .action(async (target: string, opts: CommonOptions) => {
      const { topic, partition } = parseTopicPartition(target);
      await withAdmin(opts, io, async (admin) => {
        const [t] = await admin.describeTopics([topic]);
        const all = t!.partitions.filter(Boolean).map((p) => p.partition);
        if (partition !== null && !all.includes(partition)) throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${topic} has no partition ${partition}`);
        const described = await admin.describeProducers((partition === null ? all : [partition]).map((p) => ({ topic, partition: p })));
        if (opts.json) return printJson(io, described);
        await printTable(
          io,
          ['PARTITION', 'PRODUCER-ID', 'EPOCH', 'LAST-SEQUENCE', 'LAST-TIMESTAMP', 'COORDINATOR-EPOCH', 'TXN-START-OFFSET'],
          described.flatMap((p) =>
            p.activeProducers.map((a) => [p.partition, a.producerId, a.producerEpoch, a.lastSequence, isoTime(a.lastTimestamp), a.coordinatorEpoch, a.currentTransactionStartOffset]),
          ),
        );
      });
    });
}
