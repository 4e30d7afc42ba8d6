import { Cluster, type Redis } from 'ioredis'

/** How many replicas must hold a session or grant write before the broker counts it as done (`WAIT`). */
export interface ReplicaAck {
  replicas: number
  timeoutMs: number
}

/** Fewer replicas than asked for acknowledged a write in time: the store is "not now" (503), never a success. */
export class ReplicaAckError extends Error {
  override name = 'ReplicaAckError'
}

type Command = [string, string, ...Array<string | number>]
type Client = Redis | Cluster

// one second connection per broker client, for the acknowledged writes alone (see writeWithReplicaAck)
const writers = new WeakMap<Client, Client>()

/** The connection acknowledged writes go over; opened with the store so it is ready when the first write comes. */
export function replicaAckWriter(client: Client): Client {
  let writer = writers.get(client)
  if (!writer) {
    writer = client.duplicate()
    // its failures reach the caller of each write; the main client's 'error' listener already reports the outage
    writer.on('error', () => undefined)
    writers.set(client, writer)
  }
  return writer
}

export async function closeReplicaAckWriter(client: Client): Promise<void> {
  const writer = writers.get(client)
  writers.delete(client)
  await writer?.quit().catch(() => writer.disconnect())
}

/**
 * Sends `command` (a write naming one key, `command[1]`) so that it counts only once `ack.replicas` replicas hold it.
 * Redis replicates asynchronously: a write acknowledged by the primary alone is lost when the primary dies and a
 * replica that never received it is promoted (Sentinel or Cluster failover). WAIT blocks until the replicas have
 * acknowledged every earlier write of its connection (https://redis.io/docs/latest/commands/wait/), so the write and
 * its WAIT go in one pipeline over one connection: a pipeline goes to the slot of its keys in a cluster (WAIT names
 * none). That connection is a second one: a blocked WAIT holds back every later command of its connection, and the
 * request path's reads must not queue behind a replica's acknowledgement.
 *
 * ROLE first says how many replicas the primary has connected. A primary with none (its replica is the one that died,
 * until it is back) cannot lose the write to a failover, as nothing is there to be promoted without it: the write
 * then counts at once, or every write would wait out the timeout until an operator restored the replica.
 */
export async function writeWithReplicaAck(client: Client, command: Command, ack: ReplicaAck): Promise<unknown> {
  if (ack.replicas <= 0) return client.call(...command)
  const writer = replicaAckWriter(client)
  try {
    return await acknowledgedWrite(writer, command, ack)
  } catch (err) {
    // ioredis follows a MOVED itself for one command, not for a pipeline of mixed answers (the write's MOVED beside
    // ROLE's reply): the slot map is refreshed here, so the next write, or its retry, goes to the new primary
    if (writer instanceof Cluster && err instanceof Error && /^(MOVED|ASK) /.test(err.message)) {
      writer.refreshSlotsCache()
    }
    throw err
  }
}

async function acknowledgedWrite(writer: Client, command: Command, ack: ReplicaAck): Promise<unknown> {
  // just opened, or reconnecting after a failover: wait for it as long as a WAIT may take (no offline queue)
  if (writer.status !== 'ready') await readyWithin(writer, ack.timeoutMs)
  const [, [roleError, role] = []] = (await writer.pipeline([['pttl', command[1]], ['role']]).exec()) ?? []
  if (roleError) throw roleError
  const connected = Array.isArray(role) && Array.isArray(role[2]) ? role[2].length : 0
  const wanted = Math.min(ack.replicas, connected)
  if (wanted === 0) return writer.call(...command)
  const replies = await writer.pipeline([command, ['wait', wanted, ack.timeoutMs]]).exec()
  const [[writeError, written] = [], [waitError, acked] = []] = replies ?? []
  if (writeError) throw writeError
  if (waitError) throw waitError
  if (Number(acked) < wanted) {
    throw new ReplicaAckError(`write acknowledged by ${String(acked)} of ${wanted} replicas within ${ack.timeoutMs} ms`)
  }
  return written
}

function readyWithin(writer: Client, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      writer.off('ready', done)
      resolve()
    }
    // not ready in time: the write itself fails with ioredis's "not writeable" error, a store outage
    const timer = setTimeout(done, ms)
    writer.once('ready', done)
  })
}
