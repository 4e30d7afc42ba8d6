import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import session, { type SessionData, type Store } from 'express-session'
import type { RequestHandler } from 'express'
import type { SessionConfig } from '../config/types.js'
import type { RedisClient } from './redis-store.js'
import { recordTtlSeconds, type BrokerSession, type SessionTimeouts } from './session.js'
import './session.js'
import { redisKeys } from './keys.js'
import { writeWithReplicaAck, type ReplicaAck } from './replica-ack.js'
import { createReplicatedRedisStore } from './replicated-session-store.js'
import { parseMemo } from './parse-memo.js'

export interface HttpSession {
  middleware: RequestHandler
  /** the express-session store (sessions are destroyed by id on back-channel logout) */
  store: Store
  /**
   * slides the idle timeout without holding the response back (see docs/architecture.md "Dependency notes" on
   * express-session's touch)
   */
  touch(sessionId: string, session: BrokerSession): void
  /** writes a session record without a cookie (mobile sessions: the id is the hash of the handle) */
  save(sessionId: string, session: BrokerSession): Promise<void>
  /** like save, but only while the record still exists (SET XX): an ended session is never written back; false then */
  replace(sessionId: string, session: BrokerSession): Promise<boolean>
  destroy(sessionId: string): Promise<void>
  /** the session id a raw Cookie header names, signature checked; undefined for none or a forged one */
  idFromCookie(cookieHeader: string | undefined): string | undefined
  /** loads a session by id outside express (API fast path, WebSocket upgrades); rejects when the store fails */
  load(sessionId: string): Promise<BrokerSession | undefined>
  /**
   * The session and the raw value of one more key of the session's Redis in one command (MGET; in a cluster, where
   * the two keys lie in different slots, two GETs in one auto-pipelined write); rejects when the store fails.
   * undefined when sessions are not in Redis (the demo's MemoryStore): the caller then reads that key itself.
   */
  loadWith(sessionId: string, key: string): Promise<{ session: BrokerSession | undefined; value: string | undefined }> | undefined
  /** which of these sessions still have a record, in one round trip (WebSocket tunnels); rejects when the store fails */
  exists(sessionIds: readonly string[]): Promise<boolean[]>
}

/** The value of cookie `name` in a Cookie header (first occurrence), without parsing the others. */
export function readCookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

/** express-session's cookie format (cookie-signature): `s:<id>.<base64 HMAC-SHA256 without padding>` */
export function unsignSessionCookie(value: string, secrets: readonly string[]): string | undefined {
  let raw: string
  try {
    raw = decodeURIComponent(value)
  } catch {
    // a malformed percent-encoding (`%E0%A4%A`) is no session, not a 500
    return undefined
  }
  if (!raw.startsWith('s:')) return undefined
  const dot = raw.lastIndexOf('.')
  if (dot < 3) return undefined
  const id = raw.slice(2, dot)
  const mac = Buffer.from(raw.slice(dot + 1))
  for (const secret of secrets) {
    const expected = Buffer.from(createHmac('sha256', secret).update(id).digest('base64').replace(/=+$/, ''))
    if (expected.length === mac.length && timingSafeEqual(expected, mac)) return id
  }
  return undefined
}

/** A record as stored (recordSerializer below): the broker's session is under `broker`. */
const sessionOfRecord = (raw: string | null | undefined): BrokerSession | undefined =>
  raw ? ((JSON.parse(raw) as { broker?: BrokerSession }).broker ?? undefined) : undefined

// the stored record: `{broker}`, the same for the cookie and the handle (two transports of one session model)
const recordOf = (broker: BrokerSession) => ({ broker }) as unknown as SessionData

/**
 * Records are stored without express-session's `cookie` object: its flags are the config's and it has no expiry
 * (a session cookie; Redis's TTL is the timeout), so keeping a copy in every record only costs memory (README
 * "Memory per session"). Reading rebuilds it from the config, which express-session needs; older records that
 * still carry one read the same.
 */
function recordSerializer(cookie: { secure: boolean; sameSite: SessionConfig['sameSite'] }) {
  return {
    stringify: (sess: SessionData) => JSON.stringify({ ...sess, cookie: undefined }),
    parse: (text: string) =>
      ({ ...JSON.parse(text), cookie: { path: '/', httpOnly: true, originalMaxAge: null, ...cookie } }) as SessionData,
  }
}

/**
 * express-session over connect-redis (ioredis) or, for the demo only, express-session's MemoryStore.
 * Session ids are 256-bit random values; the cookie carries them signed (first secret signs, all verify).
 */
export function createHttpSession(deps: {
  config: SessionConfig
  redis: RedisClient | undefined
  prefix: string
  /** mobile sessions' timeouts (mobile.*); the browser's are config's */
  mobile?: SessionTimeouts['mobile']
  now?: () => number
  /** the replicas a session record's write and removal wait for (redis.waitForReplicas) */
  replicaAck?: ReplicaAck
}): HttpSession {
  const { config } = deps
  const ack = deps.replicaAck ?? { replicas: 0, timeoutMs: 0 }
  const now = deps.now ?? Date.now
  const timeouts: SessionTimeouts = { browser: config, mobile: deps.mobile ?? config }
  // the API path reads the session record on every call; it changes only when the session is written
  const parsedSessions = parseMemo(sessionOfRecord)
  const store: Store = deps.redis
    ? createReplicatedRedisStore({
        client: deps.redis,
        ack,
        prefix: redisKeys(deps.prefix).sessionPrefix,
        ttlSeconds: (sess) => recordTtlSeconds(sess.broker, now(), timeouts),
        // touch is done by `touch()` below, off the response's critical path (the store disables connect-redis's)
        serializer: recordSerializer({ secure: config.secure, sameSite: config.sameSite }),
      })
    : new session.MemoryStore()
  const middleware = session({
    name: config.cookieName,
    secret: [...config.secrets],
    store,
    genid: () => randomBytes(32).toString('base64url'),
    resave: false,
    // a request without a login creates nothing in Redis (forged or random ids included)
    saveUninitialized: false,
    rolling: false,
    unset: 'destroy',
    // publicUrl decides whether the cookie is Secure (TLS ends at the proxy in front of us): see the wrapper below
    proxy: true,
    cookie: { httpOnly: true, secure: config.secure, sameSite: config.sameSite, path: '/' },
  })
  const forwardedProto = config.secure ? 'https' : 'http'
  const sessionKey = redisKeys(deps.prefix).session
  const verified = new Map<string, string>()
  let touchedSecond = 0
  const touchedThisSecond = new Set<string>()
  return {
    store,
    middleware(req, res, next) {
      // express-session only sets a Secure cookie on a request it believes is https; publicUrl is the truth here
      req.headers['x-forwarded-proto'] = forwardedProto
      return middleware(req, res, (err?: unknown) => {
        // express-session (unset: 'destroy') deletes a session that failed to load at the response's end: a Redis
        // timeout would log the user out and hold the 503 for a second timeout. Forgetting the id keeps the session.
        if (err) req.sessionID = ''
        next(err)
      })
    },
    touch(sessionId, session) {
      if (!deps.redis) return
      // at most one EXPIRE per session per clock second: EXPIRE counts whole seconds, so a second one within the
      // same second would set the same deadline; a page's burst of API calls costs one Redis write, not one each
      const at = now()
      const second = Math.floor(at / 1000)
      if (second !== touchedSecond) {
        touchedSecond = second
        touchedThisSecond.clear()
      }
      if (touchedThisSecond.has(sessionId)) return
      touchedThisSecond.add(sessionId)
      const ttl = recordTtlSeconds(session, at, timeouts)
      if (ttl > 0) deps.redis.expire(sessionKey(sessionId), ttl).catch(() => undefined)
    },
    idFromCookie(cookieHeader) {
      const value = readCookieValue(cookieHeader, config.cookieName)
      if (!value) return undefined
      const known = verified.get(value)
      if (known) return known
      const id = unsignSessionCookie(value, config.secrets)
      // an HMAC per API call adds up: remember valid cookies (bounded; forged values are never remembered)
      if (id) {
        if (verified.size >= 10_000) verified.clear()
        verified.set(value, id)
      }
      return id
    },
    load(id) {
      return new Promise((resolve, reject) =>
        store.get(id, (err, sess) => (err ? reject(err) : resolve(sess?.broker ?? undefined))),
      )
    },
    loadWith(sessionId, key) {
      const redis = deps.redis
      if (!redis) return undefined
      const sessionRecord = sessionKey(sessionId)
      const both = redis.isCluster ? Promise.all([redis.get(sessionRecord), redis.get(key)]) : redis.mget(sessionRecord, key)
      return both.then(([raw, value]) => ({ session: raw ? parsedSessions.of(sessionId, raw) : undefined, value: value ?? undefined }))
    },
    save(sessionId, broker) {
      return new Promise((resolve, reject) => store.set(sessionId, recordOf(broker), (err) => (err ? reject(err) : resolve())))
    },
    async replace(sessionId, broker) {
      const ttl = recordTtlSeconds(broker, now(), timeouts)
      if (ttl <= 0) return false
      if (!deps.redis) {
        const exists = await new Promise<boolean>((resolve, reject) => store.get(sessionId, (err, sess) => (err ? reject(err) : resolve(Boolean(sess)))))
        if (exists) await new Promise<void>((resolve, reject) => store.set(sessionId, recordOf(broker), (err) => (err ? reject(err) : resolve())))
        return exists
      }
      // connect-redis's own format (JSON) and key, so express-session and load() read it back alike
      const command = ['set', sessionKey(sessionId), JSON.stringify(recordOf(broker)), 'EX', ttl, 'XX'] as const
      return (await writeWithReplicaAck(deps.redis, [...command], ack)) === 'OK'
    },
    destroy(sessionId) {
      return new Promise((resolve, reject) => store.destroy(sessionId, (err) => (err ? reject(err) : resolve())))
    },
    async exists(ids) {
      const redis = deps.redis
      if (!redis) return Promise.all(ids.map((id) => new Promise<boolean>((resolve, reject) =>
        store.get(id, (err, sess) => (err ? reject(err) : resolve(Boolean(sess)))))))
      if (ids.length === 0) return []
      // a cluster spreads the keys over slots, which one pipeline cannot span: there auto-pipelining batches the
      // EXISTS per node instead
      if (redis.isCluster) return (await Promise.all(ids.map((id) => redis.exists(sessionKey(id))))).map((n) => n === 1)
      const replies = await redis.pipeline(ids.map((id) => ['exists', sessionKey(id)])).exec()
      return ids.map((_, i) => {
        const [err, n] = replies?.[i] ?? [new Error('no reply to EXISTS')]
        if (err) throw err
        return n === 1
      })
    },
  }
}
