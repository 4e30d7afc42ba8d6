import type { SessionData, Store } from 'express-session'
import { RedisStore } from 'connect-redis'
import type { RedisClient } from './redis-store.js'
import { writeWithReplicaAck, type ReplicaAck } from './replica-ack.js'
import type { BrokerSession } from './session.js'

type Callback = (err?: unknown) => void

/**
 * connect-redis, with the write and the removal of a session record acknowledged by the replicas (replica-ack.ts):
 * a login, or a logout, that a failover would undo is answered 503 instead of succeeding. The record keeps
 * connect-redis's format and key (JSON at `prefix + id`, `EX` seconds), so its `get` reads it back. Touch is done by
 * http-session.ts off the response's critical path.
 */
export function createReplicatedRedisStore(opts: {
  client: RedisClient
  ack: ReplicaAck
  prefix: string
  ttlSeconds: (sess: { broker?: BrokerSession }) => number
  /** how a record is written and read back (http-session.ts keeps express-session's cookie object out of it) */
  serializer: { stringify(sess: SessionData): string; parse(text: string): SessionData }
}): Store {
  const { client, ack, prefix } = opts
  const remove = (sid: string) => writeWithReplicaAck(client, ['del', prefix + sid], ack)
  class ReplicatedRedisStore extends RedisStore {
    override async set(sid: string, sess: SessionData, cb?: Callback): Promise<void> {
      try {
        const ttl = opts.ttlSeconds(sess as { broker?: BrokerSession })
        if (ttl > 0) await writeWithReplicaAck(client, ['set', prefix + sid, opts.serializer.stringify(sess), 'EX', ttl], ack)
        else await remove(sid)
        cb?.()
      } catch (err) {
        if (!cb) throw err
        cb(err)
      }
    }

    override async destroy(sid: string, cb?: Callback): Promise<void> {
      try {
        await remove(sid)
        cb?.()
      } catch (err) {
        if (!cb) throw err
        cb(err)
      }
    }
  }
  return new ReplicatedRedisStore({ client, prefix, ttl: opts.ttlSeconds, disableTouch: true, serializer: opts.serializer })
}
