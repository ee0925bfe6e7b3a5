/**
 * Brokers sharing a database (shared-cluster.ts) keep a group's or a transaction's state in the
 * memory of its coordinator only, so a coordinator request reaching another broker is answered
 * NOT_COORDINATOR (the client asks FindCoordinator again), as Kafka answers it. The keys a request
 * names are read from its decoded body; a request naming several (DescribeGroups, OffsetFetch v8+)
 * is refused whole when any of them is coordinated elsewhere (clients send such requests to one
 * coordinator per group set anyway).
 *
 * Called by Connection before the handler, only when `broker.cluster.exclusiveCoordinators`.
 */
import { ApiKey } from '../protocol/messages/index.js';

export type CoordinatorKeys = { kind: 'group' | 'transaction'; keys: string[] };

const GROUP_ONE = new Set<number>([
  ApiKey.JoinGroup, ApiKey.SyncGroup, ApiKey.Heartbeat, ApiKey.LeaveGroup, ApiKey.OffsetCommit, ApiKey.OffsetDelete, ApiKey.TxnOffsetCommit,
  ApiKey.ConsumerGroupHeartbeat,
]);
const TXN_ONE = new Set<number>([ApiKey.AddOffsetsToTxn, ApiKey.EndTxn]);

/** The coordinator keys a request names; null when it is not a coordinator request. */
export function coordinatorKeys(apiKey: number, request: unknown): CoordinatorKeys | null {
  const r = request as Record<string, unknown>;
  if (GROUP_ONE.has(apiKey)) return { kind: 'group', keys: [r['groupId'] as string] };
  if (TXN_ONE.has(apiKey)) return { kind: 'transaction', keys: [r['transactionalId'] as string] };
  switch (apiKey) {
    case ApiKey.OffsetFetch: {
      const groups = r['groups'] as { groupId: string }[] | undefined;
      return { kind: 'group', keys: groups !== undefined && groups.length > 0 ? groups.map((g) => g.groupId) : [r['groupId'] as string] };
    }
    case ApiKey.DescribeGroups:
      return { kind: 'group', keys: r['groups'] as string[] };
    case ApiKey.DeleteGroups:
      return { kind: 'group', keys: r['groupsNames'] as string[] };
    case ApiKey.ConsumerGroupDescribe:
      return { kind: 'group', keys: r['groupIds'] as string[] };
    case ApiKey.InitProducerId: {
      const id = r['transactionalId'] as string | null;
      return id === null || id === undefined ? null : { kind: 'transaction', keys: [id] };
    }
    case ApiKey.AddPartitionsToTxn: {
      const txns = r['transactions'] as { transactionalId: string }[] | undefined;
      return { kind: 'transaction', keys: txns !== undefined && txns.length > 0 ? txns.map((t) => t.transactionalId) : [r['v3AndBelowTransactionalId'] as string] };
    }
    default:
      return null;
  }
}
