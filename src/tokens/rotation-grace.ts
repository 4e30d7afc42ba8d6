import { createHash } from 'node:crypto'
import { idpUnavailable } from '../errors.js'
import type { Grant, GrantStore } from '../session/grant-store.js'
import type { KeyValueStore } from '../session/store.js'
import { redisKeys } from '../session/keys.js'

/**
 * Rotation grace: after a refresh that rotated the refresh token, a short-lived record maps a hash of the token just
 * used to the grant version that replaced it. A reader under the lock that still sees the old refresh token (a
 * stale or rolled-back grant record) waits for the new version instead of presenting a rotated refresh token again,
 * which a rotating provider answers by revoking the whole grant (docs/architecture.md "Dependency notes", RFC 6749
 * §10.4 / OAuth 2.0 Security BCP
 * §4.14.2). The record holds no token, only a hash and a version.
 */
export interface RotationGrace {
  record(grantId: string, usedRefreshToken: string, newVersion: number): Promise<void>
  /** the grant, never older than a recorded rotation says exists; undefined when the grant is gone */
  readCurrent(grantId: string): Promise<Grant | undefined>
}

export interface RotationGraceOptions {
  store: KeyValueStore
  grants: GrantStore
  prefix: string
  /** how long a used refresh token is remembered */
  graceMs?: number
  /** how long a reader waits for the newer grant before answering 503 */
  catchUpMs?: number
  /** a reader found a grant older than a recorded rotation: it caught up, or gave up with 503 */
  onHit?: (outcome: 'caught_up' | 'unavailable') => void
}

export function createRotationGrace(options: RotationGraceOptions): RotationGrace {
  const { store, grants, prefix } = options
  const graceMs = options.graceMs ?? 60_000
  const catchUpMs = options.catchUpMs ?? 1000
  const keys = redisKeys(prefix)
  const key = (grantId: string, refreshToken: string) =>
    keys.rotated(grantId, createHash('sha256').update(refreshToken).digest('base64url'))

  async function recordedVersion(grant: Grant): Promise<number | undefined> {
    const refreshToken = grant.tokens.refreshToken
    if (!refreshToken) return undefined
    const value = await store.get(key(grant.id, refreshToken))
    const version = value === undefined ? NaN : Number(value)
    return version > grant.version ? version : undefined
  }

  return {
    async record(grantId, usedRefreshToken, newVersion) {
      await store.set(key(grantId, usedRefreshToken), String(newVersion), graceMs)
    },
    async readCurrent(grantId) {
      const deadline = Date.now() + catchUpMs
      for (let waited = false; ; waited = true) {
        const grant = await grants.get(grantId)
        if (!grant) return undefined
        const newer = await recordedVersion(grant)
        if (newer === undefined) {
          if (waited) options.onHit?.('caught_up')
          return grant
        }
        if (Date.now() >= deadline) {
          options.onHit?.('unavailable')
          // never replay: a 503 keeps the session, and the grant record catches up or the grace ends
          throw idpUnavailable({ detail: `grant record older than rotated version ${newer}` })
        }
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    },
  }
}
