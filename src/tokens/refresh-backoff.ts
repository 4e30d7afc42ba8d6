import { idpUnavailable, type BffError } from '../errors.js'
import type { KeyValueStore } from '../session/store.js'
import type { Clock } from './clock.js'
import { redisKeys } from '../session/keys.js'

/**
 * After a transient refresh failure (the provider is down, answers 5xx or times out) a grant is not refreshed again
 * until its backoff ends: exponential, jittered, capped, and kept in the store so every instance holds back (the
 * provider is not hammered while it is down; RFC 9110 §15.6.4 503 + Retry-After). The next success clears it.
 */
export interface RefreshBackoff {
  /** the grant's backoff; `untilMs` may lie in the past (the failure count is remembered a while longer) */
  read(grantId: string): Promise<BackoffState | undefined>
  /** records one more transient failure after `previous` and returns the backoff that starts now */
  failed(grantId: string, previous: BackoffState | undefined): Promise<BackoffState>
  clear(grantId: string): Promise<void>
}

export interface BackoffState {
  /** transient failures in a row */
  failures: number
  /** epoch ms (the injected clock) before which the provider is not asked again */
  untilMs: number
}

export interface RefreshBackoffOptions {
  store: KeyValueStore
  clock: Clock
  prefix: string
  /** first backoff, before jitter (default 1 s) */
  baseMs?: number
  /** longest backoff (default 60 s) */
  maxMs?: number
  /** [0, 1); tests pass a fixed one */
  random?: () => number
}

/** Seconds to send as Retry-After: at least 1 (RFC 9110 §10.2.3 delay-seconds is a non-negative integer). */
export function retryAfterSeconds(state: BackoffState, nowMs: number): number {
  return Math.max(1, Math.ceil((state.untilMs - nowMs) / 1000))
}

/** The 503 of a grant in backoff: the provider is not asked, the caller is told when to come back. */
export function backingOff(state: BackoffState, nowMs: number, cause?: unknown): BffError {
  const detail = `token refresh backing off after ${state.failures} transient failure(s)`
  return idpUnavailable({ detail, cause, retryAfterSeconds: retryAfterSeconds(state, nowMs) })
}

export function createRefreshBackoff(options: RefreshBackoffOptions): RefreshBackoff {
  const { store, clock } = options
  const baseMs = options.baseMs ?? 1000
  const maxMs = options.maxMs ?? 60_000
  const random = options.random ?? Math.random
  const key = redisKeys(options.prefix).refreshBackoff

  return {
    async read(grantId) {
      const value = await store.get(key(grantId))
      if (!value) return undefined
      const [failures, untilMs] = value.split(':').map(Number)
      if (!Number.isFinite(failures) || !Number.isFinite(untilMs)) return undefined
      return { failures: failures as number, untilMs: untilMs as number }
    },
    async failed(grantId, previous) {
      const failures = (previous?.failures ?? 0) + 1
      const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 30))
      // "equal jitter": half fixed, half random, so instances and grants that failed together retry apart
      const delayMs = Math.round(ceiling / 2 + random() * (ceiling / 2))
      const state = { failures, untilMs: clock.now() + delayMs }
      // the record outlives the backoff by maxMs, so a provider that keeps failing meets longer pauses, while a
      // long quiet spell starts again from baseMs; like every key the broker writes, it expires
      await store.set(key(grantId), `${state.failures}:${state.untilMs}`, delayMs + maxMs)
      return state
    },
    async clear(grantId) {
      await store.del(key(grantId))
    },
  }
}
