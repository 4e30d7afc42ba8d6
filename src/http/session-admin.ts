import type { OAuthProvider } from '../oauth/provider.js'
import type { GrantStore } from '../session/grant-store.js'
import type { HttpSession } from '../session/http-session.js'
import type { SessionIndex } from '../session/session-index.js'
import type { OfflineGrant, OfflineGrants } from '../session/offline-grants.js'
import type { KeyValueStore } from '../session/store.js'
import { timeoutsOf, type BrokerSession, type SessionTimeouts } from '../session/session.js'
import type { Logger } from '../observability/logger.js'
import { LogEvents } from '../observability/log-events.js'
import type { SessionLifecycle } from './session-lifecycle.js'
import { revokeGrantTokens } from './revocation.js'
import type { SessionEndReason } from '../observability/metrics.js'

/**
 * A session as the session administration API shows it: opaque id, no credential, times in epoch seconds. Every
 * field is always there: null when the session has none (a browser has no client id, an app may send no user agent).
 */
export interface SessionView {
  id: string
  kind: 'browser' | 'mobile'
  current: boolean
  createdAt: number
  lastUsedAt: number
  userAgent: string | null
  clientId: string | null
}

export interface GrantView {
  id: string
  kind: 'offline'
  createdAt: number
  lastUsedAt: number
  scopes: readonly string[]
}

export interface SessionAdmin {
  list(sub: string, currentSessionId?: string): Promise<{ sessions: SessionView[]; grants: GrantView[] }>
  /** ends the session with that public id (only if it is `owner`'s, when given); undefined: no such session */
  endSession(publicId: string, owner?: string): Promise<{ sessionId: string; session: BrokerSession } | undefined>
  /** revokes the offline grant with that public id (at the provider too) and ends the sessions using it */
  revokeGrant(publicId: string, owner?: string): Promise<boolean>
  /** an offline grant is gone: revoked at the provider when asked, removed, and its sessions ended */
  dropGrant(grant: OfflineGrant, opts: { revoke: boolean; reason: SessionEndReason }): Promise<void>
  /** sign-out everywhere: every session and offline grant of the user */
  endUser(sub: string): Promise<{ sessions: number; grants: number }>
}

const seconds = (ms: number) => Math.floor(ms / 1000)
/** the user acting on their own sessions (an owner is given), or an operator through the admin API */
const actorOf = (owner: string | undefined): SessionEndReason => (owner === undefined ? 'admin' : 'self_service')

/**
 * Session administration over the session index (self-service and the admin API share it). Every read goes to the
 * store, so what it ends is ended on every instance at their next request.
 */
export function createSessionAdmin(deps: {
  provider: OAuthProvider
  grants: GrantStore
  index: SessionIndex
  httpSession: HttpSession
  offlineGrants: OfflineGrants
  sessions: SessionLifecycle
  store: KeyValueStore
  /** the Redis key of a session record (its TTL tells when it was last used) */
  sessionKey: (sessionId: string) => string
  timeouts: SessionTimeouts
  logger: Logger
  now: () => number
}): SessionAdmin {
  async function sessionsOf(sub: string): Promise<Array<{ sessionId: string; session: BrokerSession }>> {
    const ids = await deps.index.find({ sub })
    const loaded = await Promise.all(ids.map(async (sessionId) => ({ sessionId, session: await deps.httpSession.load(sessionId) })))
    // the index may name sessions that expired meanwhile, or a pending mobile login (not a session yet)
    return loaded.filter((s): s is { sessionId: string; session: BrokerSession } =>
      s.session !== undefined && s.session.sub === sub && s.session.handoffUntil === undefined)
  }

  /** the idle timeout slides on each use, so the record's TTL tells when it was last used */
  async function lastUsedAt(sessionId: string, session: BrokerSession): Promise<number> {
    const left = await deps.store.ttl(deps.sessionKey(sessionId))
    if (left === undefined) return session.createdAt
    return Math.max(session.createdAt, deps.now() - (timeoutsOf(session, deps.timeouts).idleTimeoutSeconds * 1000 - left))
  }

  async function dropGrant(grant: OfflineGrant, opts: { revoke: boolean; reason: SessionEndReason }) {
    const record = await deps.grants.get(grant.grantId)
    // RFC 7009: best effort, refresh and access tokens; the grant is gone on our side whatever the provider answers
    if (opts.revoke && record) await revokeGrantTokens(deps, record)
    await deps.grants.delete(grant.grantId)
    await deps.offlineGrants.remove(grant)
    for (const { sessionId, session } of await sessionsOf(grant.sub)) {
      if (session.grantId === grant.grantId) await deps.sessions.end(sessionId, session, { revoke: false, reason: opts.reason })
    }
    deps.logger.info({ event: LogEvents.grantRevoked, sub: grant.sub, grant: grant.publicId }, 'offline grant ended')
  }

  /**
   * The offline grants whose record still exists: a grant the provider refused (invalid_grant) on a browser's refresh
   * is deleted by the token manager, and its entry here goes with it, so no dead grant is listed.
   */
  async function liveOfflineGrants(sub: string): Promise<OfflineGrant[]> {
    const all = await deps.offlineGrants.list(sub)
    const live = await Promise.all(all.map(async (g) => (await deps.store.ttl(deps.grants.key(g.grantId))) !== undefined))
    await Promise.all(all.filter((_, i) => !live[i]).map((g) => deps.offlineGrants.remove(g)))
    return all.filter((_, i) => live[i])
  }

  return {
    async list(sub, currentSessionId) {
      const sessions = await Promise.all(
        (await sessionsOf(sub)).map(async ({ sessionId, session }): Promise<SessionView> => ({
          id: session.publicId ?? '',
          kind: session.kind === 'mobile' ? 'mobile' : 'browser',
          current: sessionId === currentSessionId,
          createdAt: seconds(session.createdAt),
          lastUsedAt: seconds(await lastUsedAt(sessionId, session)),
          userAgent: session.userAgent ?? null,
          clientId: session.clientId ?? null,
        })),
      )
      const grants = (await liveOfflineGrants(sub)).map((g): GrantView => ({
        id: g.publicId, kind: 'offline', createdAt: seconds(g.createdAt), lastUsedAt: seconds(g.lastUsedAt), scopes: g.scopes,
      }))
      return { sessions: sessions.sort((a, b) => b.createdAt - a.createdAt), grants }
    },
    async endSession(publicId, owner) {
      const sessionId = await deps.index.byPublicId(publicId)
      const session = sessionId === undefined ? undefined : await deps.httpSession.load(sessionId)
      if (!sessionId || !session || (owner !== undefined && session.sub !== owner)) return undefined
      await deps.sessions.end(sessionId, session, { revoke: true, reason: actorOf(owner) })
      return { sessionId, session }
    },
    async revokeGrant(publicId, owner) {
      const grant = await deps.offlineGrants.byPublicId(publicId)
      if (!grant || (owner !== undefined && grant.sub !== owner)) return false
      await dropGrant(grant, { revoke: true, reason: actorOf(owner) })
      return true
    },
    dropGrant,
    async endUser(sub) {
      const sessions = await sessionsOf(sub)
      for (const { sessionId, session } of sessions) await deps.sessions.end(sessionId, session, { revoke: true, reason: 'admin' })
      const grants = await deps.offlineGrants.list(sub)
      for (const grant of grants) await dropGrant(grant, { revoke: true, reason: 'admin' })
      return { sessions: sessions.length, grants: grants.length }
    },
  }
}
