import { randomBytes } from 'node:crypto'
import { sha256b64url } from '../sha256.js'
import type { JobClientConfig } from '../config/types.js'
import type { KeyValueStore } from '../session/store.js'
import type { JobClients } from './job-clients.js'
import { redisKeys } from '../session/keys.js'

/** What Redis holds for one job token, under the SHA-256 of the token (never the token itself). */
export interface JobTokenRecord {
  clientId: string
  /** epoch milliseconds */
  issuedAt: number
}

export interface IssuedJobToken {
  /** `bffj_` + 43 base64url characters; shown to the job once, kept nowhere in clear */
  token: string
  expiresInSeconds: number
}

export interface JobTokenLookup {
  client: JobClientConfig
  issuedAt: number
}

export interface JobTokens {
  issue(clientId: string): Promise<IssuedJobToken>
  /** the configured client behind a live token; undefined for garbage, unknown or expired tokens */
  lookup(token: string): Promise<JobTokenLookup | undefined>
}

export const jobTokenPrefix = 'bffj_'
// 32 random bytes are 43 base64url characters without padding
const tokenFormat = /^bffj_[A-Za-z0-9_-]{43}$/

/** Whether a string has the shape of a job token (checked before any store call, so garbage costs nothing). */
export function isJobTokenFormat(token: string): boolean {
  return tokenFormat.test(token)
}

export interface JobTokensDeps {
  store: KeyValueStore
  prefix: string
  clients: JobClients
  tokenTtlSeconds: number
  now: () => number
}

/**
 * Opaque, short-lived broker tokens for job clients (an access token in the sense of RFC 6749 §1.4, usable as an
 * RFC 6750 Bearer token). Stored only as a hash, so a Redis dump yields none; the store's TTL ends them. A token
 * whose client is no longer configured is dead: removing a client from the config revokes its tokens.
 *
 * Nothing else ends a job token before its TTL (there is no revocation endpoint for them, and signing users out
 * ends sessions and grants, not jobs), so an instance remembers a token it found until the token's own expiry:
 * a job's calls then skip that read, about 8 % of a job call's cost. Only tokens found in the store are
 * remembered, by their hash, in a bounded map, and never past the TTL the store had left for them. A key deleted by
 * hand is still honoured by an instance that remembers it until then; a revocation of job tokens, if one is ever
 * added, has to drop this memory.
 */
export function createJobTokens(deps: JobTokensDeps): JobTokens {
  const keys = redisKeys(deps.prefix)
  const keyOf = (token: string) => keys.job(sha256b64url(token))
  const found = new Map<string, { value: JobTokenLookup; untilMs: number }>()
  const ttlMs = deps.tokenTtlSeconds * 1000
  return {
    async issue(clientId) {
      const token = `${jobTokenPrefix}${randomBytes(32).toString('base64url')}`
      const record: JobTokenRecord = { clientId, issuedAt: deps.now() }
      await deps.store.set(keyOf(token), JSON.stringify(record), deps.tokenTtlSeconds * 1000)
      return { token, expiresInSeconds: deps.tokenTtlSeconds }
    },
    async lookup(token) {
      if (!isJobTokenFormat(token)) return undefined
      const key = keyOf(token)
      const now = deps.now()
      const known = found.get(key)
      if (known && known.untilMs > now) return known.value
      if (known) found.delete(key)
      // the record and what is left of its TTL, side by side (auto-pipelined): the memory ends when Redis's copy does,
      // whatever this instance's tokenTtlSeconds or the issuing instance's clock say
      const [raw, leftMs] = await Promise.all([deps.store.get(key), deps.store.ttl(key)])
      const record = raw === undefined ? undefined : parseRecord(raw)
      const client = record === undefined ? undefined : deps.clients.byId(record.clientId)
      if (client === undefined || record === undefined) return undefined
      const value = { client, issuedAt: record.issuedAt }
      if (leftMs !== undefined) {
        if (found.size >= 10_000) found.clear()
        found.set(key, { value, untilMs: now + Math.min(leftMs, ttlMs) })
      }
      return value
    },
  }
}

function parseRecord(raw: string): JobTokenRecord | undefined {
  try {
    const value = JSON.parse(raw) as Partial<JobTokenRecord>
    if (typeof value.clientId !== 'string' || typeof value.issuedAt !== 'number') return undefined
    return { clientId: value.clientId, issuedAt: value.issuedAt }
  } catch {
    return undefined
  }
}
