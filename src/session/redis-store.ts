import { Redis, Cluster, ReplyError, type Command } from 'ioredis'
import { SpanKind, type Tracer } from '@opentelemetry/api'
import type { RedisConfig } from '../config/types.js'
import { activeTracer, failSpan } from '../observability/spans.js'
import type { KeyValueStore } from './store.js'
import { redisClientPlan } from './redis-options.js'
import { closeReplicaAckWriter, replicaAckWriter, writeWithReplicaAck, type ReplicaAck } from './replica-ack.js'

export type RedisClient = Redis | Cluster

/** The one ioredis client of the broker: a single node, Sentinel or Cluster (options: redis-options.ts). */
export function createRedisClient(config: RedisConfig): RedisClient {
  const plan = redisClientPlan(config)
  const client =
    plan.kind === 'cluster' ? new Cluster(plan.nodes, plan.options)
      : plan.kind === 'sentinel' ? new Redis(plan.options)
        : new Redis(plan.url, plan.options)
  // tracing off: the client is left exactly as ioredis made it
  const tracer = activeTracer()
  if (tracer) traceCommands(client, tracer)
  return client
}

/**
 * A client span per command, the sessions' (express-session through connect-redis) included, named after the
 * command alone (OpenTelemetry database semconv): keys hold session ids and arguments hold sealed tokens, so
 * neither is recorded. A command resent from the offline queue keeps its first span.
 */
function traceCommands(client: RedisClient, tracer: Tracer): void {
  const target = client as unknown as { sendCommand(command: Command, ...rest: unknown[]): unknown }
  const send = target.sendCommand.bind(client)
  const traced = new WeakSet<Command>()
  target.sendCommand = (command, ...rest) => {
    if (traced.has(command)) return send(command, ...rest)
    traced.add(command)
    const operation = command.name.toUpperCase()
    const span = tracer.startSpan(operation, {
      kind: SpanKind.CLIENT,
      attributes: { 'db.system.name': 'redis', 'db.operation.name': operation },
    })
    command.promise.then(
      () => span.end(),
      (err: unknown) => {
        failSpan(span, err)
        span.end()
      },
    )
    return send(command, ...rest)
  }
}

/** Resolves once the client is ready, or rejects after `timeoutMs` (the broker still starts: /readyz says 503). */
export function waitUntilReady(client: RedisClient, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady)
      reject(new Error('redis not ready'))
    }, timeoutMs)
    const onReady = () => {
      clearTimeout(timer)
      resolve()
    }
    client.once('ready', onReady)
  })
}

const DEL_IF_EQUALS = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`
const EXPIRE_IF_EQUALS = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`
// the set's TTL only ever grows: a short browser session must not shorten the entry of a 90-day mobile session
const ADD_EXTENDING_TTL = `redis.call('sadd', KEYS[1], ARGV[1]) if redis.call('pttl', KEYS[1]) < tonumber(ARGV[2]) then redis.call('pexpire', KEYS[1], ARGV[2]) end return 1`
const INCR_WITH_TTL = `local n = redis.call('incr', KEYS[1]) if n == 1 then redis.call('pexpire', KEYS[1], ARGV[1]) end return n`

// Redis's own "not now" replies, by the error prefix of a ReplyError (RESP simple errors,
// https://redis.io/docs/latest/develop/reference/protocol-spec/#simple-errors): a replica after a demotion, memory
// full under noeviction, a dataset still loading, a primary or cluster down, a multi-key operation during a
// resharding, a busy script, too few replicas. ioredis follows MOVED/ASK for a single command, but not inside a
// pipeline (auto-pipelining included) whose commands got different answers, e.g. MOVED for two slots of a failed-over
// primary: the topology is changing, the next request finds the new owner.
const unavailableReplies = [
  'READONLY', 'OOM', 'LOADING', 'MASTERDOWN', 'CLUSTERDOWN', 'TRYAGAIN', 'BUSY', 'NOREPLICAS', 'MOVED', 'ASK',
]
// ioredis raises these as plain Errors, so their fixed text is their only kind (compared whole, never searched)
const ioredisUnavailable = [
  'Connection is closed.',
  'Command timed out',
  "Stream isn't writeable and enableOfflineQueue options is false",
  "Cluster isn't ready and enableOfflineQueue options is false",
  'Cluster is disconnected.',
  'Cluster is disconnecting.',
  'None of startup nodes is available',
  'Node is disconnected',
  'connect ETIMEDOUT',
]
const unavailableErrorNames = new Set(['MaxRetriesPerRequestError', 'AbortError', 'ClusterAllFailedError', 'ReplicaAckError'])
// socket failures under ioredis (node's system error codes)
const unavailableSocketCodes = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTCONN', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN',
])

const replyPrefix = (err: Error): string => err.message.split(' ', 1)[0] ?? ''

/**
 * A store that cannot answer now (as opposed to a bug): the request answers 503 session_store_unavailable
 * (invariants 8 and 20). Decided by the error's kind: ioredis's error classes, the reply-error prefix of a
 * ReplyError, a socket error code, and the fixed messages ioredis gives its plain Errors.
 */
export function isStoreUnavailableError(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  if (err instanceof ReplyError) {
    // EXECABORT: a MULTI whose queued commands were refused (OOM, READONLY …): judged by those refusals
    const previous = (err as { previousErrors?: unknown }).previousErrors
    if (replyPrefix(err) === 'EXECABORT' && Array.isArray(previous)) return previous.some(isStoreUnavailableError)
    return unavailableReplies.includes(replyPrefix(err))
  }
  if (unavailableErrorNames.has(err.name)) return true
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string' && unavailableSocketCodes.has(code)) return true
  // a cluster that ran out of MOVED/ASK redirections during a failover or resharding
  if (err.message.startsWith('Too many Cluster redirections.')) return true
  return ioredisUnavailable.includes(err.message)
}

/** `ack`: the replicas a session or grant write waits for (setReplicated, delReplicated); none by default. */
export function createRedisStore(client: RedisClient, ack: ReplicaAck = { replicas: 0, timeoutMs: 0 }): KeyValueStore {
  if (ack.replicas > 0) replicaAckWriter(client)
  return {
    async ping() {
      await client.ping()
    },
    isAvailable: () => client.status === 'ready',
    async get(key) {
      return (await client.get(key)) ?? undefined
    },
    async getTogether(keys) {
      if (keys.length === 0) return []
      return (await client.mget(...keys)).map((value) => value ?? undefined)
    },
    async set(key, value, ttlMs) {
      await client.set(key, value, 'PX', Math.max(1, Math.ceil(ttlMs)))
    },
    async setReplicated(key, value, ttlMs) {
      await writeWithReplicaAck(client, ['set', key, value, 'PX', Math.max(1, Math.ceil(ttlMs))], ack)
    },
    async delReplicated(key) {
      await writeWithReplicaAck(client, ['del', key], ack)
    },
    async setIfAbsent(key, value, ttlMs) {
      return (await client.set(key, value, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX')) === 'OK'
    },
    async take(key) {
      return (await client.getdel(key)) ?? undefined
    },
    async swap(key, value) {
      const old = (await client.call('set', key, value, 'XX', 'KEEPTTL', 'GET')) as string | null
      return old ?? undefined
    },
    async del(...keys) {
      // one DEL per key: in a cluster the keys may live in different slots
      if (keys.length) await Promise.all(keys.map((k) => client.del(k)))
    },
    async delIfEquals(key, value) {
      return (await client.eval(DEL_IF_EQUALS, 1, key, value)) === 1
    },
    async expireIfEquals(key, value, ttlMs) {
      return (await client.eval(EXPIRE_IF_EQUALS, 1, key, value, String(Math.ceil(ttlMs)))) === 1
    },
    async addToSet(key, member, ttlMs) {
      await client.eval(ADD_EXTENDING_TTL, 1, key, member, String(Math.ceil(ttlMs)))
    },
    async expire(key, ttlMs) {
      return (await client.pexpire(key, Math.max(1, Math.ceil(ttlMs)))) === 1
    },
    async ttl(key) {
      const left = await client.pttl(key)
      return left >= 0 ? left : undefined
    },
    async removeFromSet(key, member) {
      await client.srem(key, member)
    },
    async setMembers(key) {
      return client.smembers(key)
    },
    async increment(key, ttlMs) {
      return Number(await client.eval(INCR_WITH_TTL, 1, key, String(Math.ceil(ttlMs))))
    },
    async close() {
      await closeReplicaAckWriter(client)
      try {
        await client.quit()
      } catch {
        client.disconnect()
      }
    },
  }
}
