import type { Redis, Cluster } from 'ioredis'

/** How many replicas must hold a session or grant write before the broker counts it as done (`WAIT`). */
export interface ReplicaAck {
  replicas: number
  timeoutMs: number
}

/** Fewer replicas than asked for acknowledged a write in time: the store is "not now" (503), never a success. */
export class ReplicaAckError extends Error {
  override name = 'ReplicaAckError'
}

type Command = [string, ...Array<string | number>]

/**
 * Sends `command` (a write naming one key) and then, in the same pipeline, `WAIT replicas timeout` and `ROLE`.
 * Redis replicates asynchronously: a write acknowledged by the primary alone is lost when the primary dies and a
 * replica that never received it is promoted (Sentinel or Cluster failover). WAIT blocks until the replicas have
 * acknowledged every earlier write of the connection (https://redis.io/docs/latest/commands/wait/), so the pipeline
 * must go over the connection that carried the write: one connection on a single node or under Sentinel, the key's
 * node in a cluster (a pipeline goes to the slot of its keys, and WAIT and ROLE name none).
 *
 * A primary with no replica connected (its replica is the one that died, until it is back) cannot lose the write to
 * a failover, as nothing is there to be promoted without it: the write then counts, or writes would fail until an
 * operator restored the replica. ROLE, after WAIT, says how many replicas are connected.
 */
export async function writeWithReplicaAck(client: Redis | Cluster, command: Command, ack: ReplicaAck): Promise<unknown> {
  if (ack.replicas <= 0) return client.call(...command)
  const replies = await client.pipeline([command, ['wait', ack.replicas, ack.timeoutMs], ['role']]).exec()
  const [[writeError, written] = [], [waitError, acked] = [], [roleError, role] = []] = replies ?? []
  if (writeError) throw writeError
  if (waitError) throw waitError
  if (roleError) throw roleError
  const connected = Array.isArray(role) && Array.isArray(role[2]) ? role[2].length : 0
  if (Number(acked) < Math.min(ack.replicas, connected)) {
    throw new ReplicaAckError(`write acknowledged by ${String(acked)} of ${ack.replicas} replicas within ${ack.timeoutMs} ms`)
  }
  return written
}
