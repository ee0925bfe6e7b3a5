/**
 * Consumer-group requests at exact wire versions over a RawClient, for the group tests. Each group
 * member needs its own connection: a parked JoinGroup/SyncGroup holds its connection's answers, as
 * in Kafka.
 */
import { RawClient } from './raw-client.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import type { Init } from '../../src/protocol/codec/message.js';
import { JoinGroupRequest, JoinGroupResponse } from '../../src/protocol/messages/join-group.js';
import { SyncGroupRequest, SyncGroupResponse } from '../../src/protocol/messages/sync-group.js';
import { HeartbeatRequest, HeartbeatResponse } from '../../src/protocol/messages/heartbeat.js';
import { LeaveGroupRequest, LeaveGroupResponse } from '../../src/protocol/messages/leave-group.js';
import { OffsetCommitRequest, OffsetCommitResponse } from '../../src/protocol/messages/offset-commit.js';
import { OffsetFetchRequest, OffsetFetchResponse } from '../../src/protocol/messages/offset-fetch.js';
import { DescribeGroupsRequest, DescribeGroupsResponse } from '../../src/protocol/messages/describe-groups.js';
import { ListGroupsRequest, ListGroupsResponse } from '../../src/protocol/messages/list-groups.js';
import { DeleteGroupsRequest, DeleteGroupsResponse } from '../../src/protocol/messages/delete-groups.js';
import { OffsetDeleteRequest, OffsetDeleteResponse } from '../../src/protocol/messages/offset-delete.js';
import { FindCoordinatorRequest, FindCoordinatorResponse } from '../../src/protocol/messages/find-coordinator.js';
import { ConsumerProtocolSubscription } from '../../src/protocol/messages/consumer-protocol-subscription.js';
import { ConsumerProtocolAssignment } from '../../src/protocol/messages/consumer-protocol-assignment.js';
import { Writer } from '../../src/protocol/codec/writer.js';

export const MEMBER_ID_REQUIRED = 79;

/** Consumer-protocol subscription bytes (int16 version + the message), as Java/librdkafka send them. */
export function subscription(topics: string[], version = 0): Buffer {
  const w = new Writer();
  w.int16(version);
  ConsumerProtocolSubscription.encode(w, { topics, userData: null }, version);
  return w.toBuffer();
}

export function assignment(parts: Record<string, number[]>, version = 0): Buffer {
  const w = new Writer();
  w.int16(version);
  ConsumerProtocolAssignment.encode(w, { assignedPartitions: Object.entries(parts).map(([topic, partitions]) => ({ topic, partitions })), userData: null }, version);
  return w.toBuffer();
}

/** Highest version of each group API usable together with JoinGroup version `join` (for version sweeps). */
export function versionsFor(join: number): { sync: number; heartbeat: number; leave: number; commit: number; fetch: number; describe: number } {
  // JoinGroup v5 introduced group.instance.id together with SyncGroup/Heartbeat v3, OffsetCommit v7;
  // flexible versions arrived together too (Join v6, Sync v4, Heartbeat v4, Leave v4, Commit v8).
  // OffsetCommit v0–1 and OffsetFetch v0 were removed in Kafka 4.0 (KIP-896): the oldest left go with Join v0.
  const table: Record<number, [number, number, number, number, number, number]> = {
    0: [0, 0, 0, 2, 1, 0],
    1: [1, 1, 1, 2, 1, 1],
    2: [1, 1, 1, 3, 2, 1],
    3: [2, 2, 2, 4, 3, 2],
    4: [2, 2, 2, 5, 4, 2],
    5: [3, 3, 3, 7, 5, 4],
    6: [4, 4, 4, 8, 6, 5],
    7: [5, 4, 4, 8, 7, 5],
    8: [5, 4, 5, 8, 8, 5],
    9: [5, 4, 5, 9, 9, 5],
  };
  const [sync, heartbeat, leave, commit, fetch, describe] = table[join]!;
  return { sync, heartbeat, leave, commit, fetch, describe };
}

export class GroupClient {
  private constructor(readonly raw: RawClient) {}

  static async connect(port: number): Promise<GroupClient> {
    return new GroupClient(await RawClient.connect(port));
  }

  close(): void {
    this.raw.close();
  }

  findCoordinator(version: number, body: Init<FindCoordinatorRequest>) {
    return this.raw.request(ApiKey.FindCoordinator, version, FindCoordinatorRequest, FindCoordinatorResponse, body);
  }

  join(version: number, body: Init<JoinGroupRequest>) {
    return this.raw.request(ApiKey.JoinGroup, version, JoinGroupRequest, JoinGroupResponse, body);
  }

  /** JoinGroup, repeated once with the id handed out by MEMBER_ID_REQUIRED (KIP-394) if needed. */
  async joinWithId(version: number, body: Init<JoinGroupRequest>) {
    const first = await this.join(version, body);
    if (first.errorCode !== MEMBER_ID_REQUIRED) return first;
    return this.join(version, { ...body, memberId: first.memberId });
  }

  sync(version: number, body: Init<SyncGroupRequest>) {
    return this.raw.request(ApiKey.SyncGroup, version, SyncGroupRequest, SyncGroupResponse, body);
  }

  heartbeat(version: number, body: Init<HeartbeatRequest>) {
    return this.raw.request(ApiKey.Heartbeat, version, HeartbeatRequest, HeartbeatResponse, body);
  }

  leave(version: number, body: Init<LeaveGroupRequest>) {
    return this.raw.request(ApiKey.LeaveGroup, version, LeaveGroupRequest, LeaveGroupResponse, body);
  }

  commit(version: number, body: Init<OffsetCommitRequest>) {
    return this.raw.request(ApiKey.OffsetCommit, version, OffsetCommitRequest, OffsetCommitResponse, body);
  }

  fetchOffsets(version: number, body: Init<OffsetFetchRequest>) {
    return this.raw.request(ApiKey.OffsetFetch, version, OffsetFetchRequest, OffsetFetchResponse, body);
  }

  describe(version: number, groups: string[]) {
    return this.raw.request(ApiKey.DescribeGroups, version, DescribeGroupsRequest, DescribeGroupsResponse, { groups });
  }

  list(version: number, body: Init<ListGroupsRequest> = {}) {
    return this.raw.request(ApiKey.ListGroups, version, ListGroupsRequest, ListGroupsResponse, body);
  }

  deleteGroups(version: number, groupsNames: string[]) {
    return this.raw.request(ApiKey.DeleteGroups, version, DeleteGroupsRequest, DeleteGroupsResponse, { groupsNames });
  }

  deleteOffsets(body: Init<OffsetDeleteRequest>) {
    return this.raw.request(ApiKey.OffsetDelete, 0, OffsetDeleteRequest, OffsetDeleteResponse, body);
  }
}

/** Poll `fn` until `done(value)` or the deadline; returns the last value (the caller asserts on it). */
export async function pollUntil<T>(fn: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (done(v) || Date.now() >= deadline) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
