import { randomBytes } from 'node:crypto'
import type { Request } from 'express'
import type { OAuthProvider, TokenSet } from '../oauth/provider.js'
import type { GrantStore } from '../session/grant-store.js'
import type { SessionIndex } from '../session/session-index.js'
import type { HttpSession } from '../session/http-session.js'
import type { SessionWatch } from '../session/session-watch.js'
import type { OfflineGrants } from '../session/offline-grants.js'
import { readSubject, userClaims, type BrokerSession, type SessionTimeouts } from '../session/session.js'
import { newHandle, sessionIdOfHandle } from '../mobile/handles.js'
import type { Logger } from '../observability/logger.js'
import { LogEvents } from '../observability/log-events.js'
import type { Metrics, SessionEndReason } from '../observability/metrics.js'
import { revokeGrantTokens } from './revocation.js'
import { BffError, loginFailed, sessionExpired } from '../errors.js'

export interface SessionLifecycle {
  /** after a successful token request: resolve the user, store the grant, rotate the session id (invariant 3) */
  start(req: Request, tokens: TokenSet, opts?: { offline?: boolean }): Promise<BrokerSession>
  /**
   * A mobile login (no cookie, no id rotation: the session id is the hash of a fresh handle). The record and its
   * grant live only until `handoffUntil` unless the handoff code is redeemed (`redeemed`).
   */
  startMobile(tokens: TokenSet, app: { clientId: string; dpopJkt?: string }, handoffUntil: number): Promise<{ handle: string; sessionId: string }>
  /**
   * the handoff code was redeemed: the session and its grant now live by the mobile timeouts, unless a parallel second
   * use of the code is ending them (then nothing is written back). Throws session_expired when the grant is gone.
   */
  redeemed(sessionId: string, session: BrokerSession): Promise<BrokerSession>
  /**
   * ends one session: grant, index entries and session record; revokes the refresh token when asked. The reason is
   * counted in bff_session_ends_total.
   */
  end(sessionId: string, broker: BrokerSession, opts: EndOptions): Promise<{ idToken?: string }>
}

export interface EndOptions {
  revoke: boolean
  reason: SessionEndReason
}

export const newId = () => randomBytes(32).toString('base64url')
/** 128 bits: ids of the session administration API, unguessable and unrelated to any credential */
export const newPublicId = () => randomBytes(16).toString('base64url')

export function createSessionLifecycle(deps: {
  provider: OAuthProvider
  grants: GrantStore
  index: SessionIndex
  httpSession: HttpSession
  /** open WebSocket tunnels of an ended session are cut here at once (other instances: at their next check) */
  watch: Pick<SessionWatch, 'ended'>
  logger: Logger
  subjectClaim: string
  /** provider.fetchUserinfo: userinfo at login even when the ID token names the user */
  fetchUserinfo: boolean
  timeouts: SessionTimeouts
  offlineGrants: OfflineGrants
  /** jobs.offlineGrantIdleSeconds, in ms */
  offlineGrantIdleMs: number
  now: () => number
  metrics?: Pick<Metrics, 'sessionEnds'>
}): SessionLifecycle {
  const ttlMs = deps.timeouts.browser.absoluteTimeoutSeconds * 1000
  const mobileTtlMs = deps.timeouts.mobile.absoluteTimeoutSeconds * 1000

  /** The part of a login every transport shares: who the user is, and the grant (its only copy of the tokens). */
  async function newSession(
    tokens: TokenSet,
    grant: { ttlMs: number; expiresAt?: number; offline?: boolean },
  ): Promise<BrokerSession> {
    const { subject, claims, providerSid, providerSub } = await identify(tokens)
    const grantId = newId()
    const createdAt = deps.now()
    const { expiresAt, offline } = grant
    await deps.grants.put(
      { id: grantId, subject, tokens, apiTokens: {}, createdAt, version: 1, ...(expiresAt !== undefined && { expiresAt }), ...(offline && { offline }) },
      grant.ttlMs,
    )
    return { sub: subject, claims, grantId, logoutSid: newId(), providerSid, providerSub, createdAt, publicId: newPublicId() }
  }

  /** an offline login keeps its grant as the user's offline grant, if the provider issued a refresh token */
  function offlineGrantOf(tokens: TokenSet, wanted: boolean | undefined): boolean {
    if (!wanted) return false
    if (tokens.refreshToken) return true
    deps.logger.warn({ event: LogEvents.offlineGrantNotIssued }, 'offline login without a refresh token: no offline grant kept')
    return false
  }

  async function identify(tokens: TokenSet) {
    // README "Provider dialects" (subjectClaim): the subject is looked up in the ID token, then the userinfo ("me")
    // answer, then the token response
    let subject = readSubject(tokens.idTokenClaims, deps.subjectClaim)
    // the ID token's own sub: what userinfo must match and what a back-channel logout token names
    const providerSub = typeof tokens.idTokenClaims?.sub === 'string' ? tokens.idTokenClaims.sub : undefined
    let info: Readonly<Record<string, unknown>> | undefined
    if (!subject || !tokens.idTokenClaims) {
      // OIDC Core §5.3.2: "the sub Claim in the UserInfo Response MUST be verified to exactly match the sub Claim
      // in the ID Token; if they do not match, the UserInfo Response values MUST NOT be used"
      info = await deps.provider.userinfo(tokens.accessToken, providerSub)
      subject ??= readSubject(info, deps.subjectClaim)
    } else if (deps.fetchUserinfo) {
      info = await profileClaims(tokens.accessToken, providerSub)
    }
    subject ??= readSubject(tokens.extra, deps.subjectClaim)
    if (!subject) {
      throw loginFailed({
        message: 'The identity provider did not name the user.',
        detail: `no subject at provider.subjectClaim "${deps.subjectClaim}"`,
      })
    }
    const claims = userClaims(tokens.idTokenClaims, info)
    claims.sub = subject
    const providerSid = typeof tokens.idTokenClaims?.sid === 'string' ? tokens.idTokenClaims.sid : undefined
    return { subject, claims, providerSid, providerSub }
  }

  /**
   * OIDC Core §5.4: many providers release profile claims (name, email …) at userinfo only. The ID token named the
   * user, so a failure here costs the profile claims, not the login (warned); an answer about another user still
   * fails it (login_failed: a provider that mixes up users is not to be trusted with this login).
   */
  async function profileClaims(accessToken: string, providerSub: string | undefined) {
    try {
      return await deps.provider.userinfo(accessToken, providerSub, { profileOnly: true })
    } catch (err) {
      if (!(err instanceof BffError) || err.status < 500) throw err
      deps.logger.warn(
        { event: LogEvents.userinfoSkipped, code: err.code, detail: err.detail },
        "userinfo failed at login: the session has only the ID token's claims",
      )
      return undefined
    }
  }

  async function end(sessionId: string, broker: BrokerSession, opts: EndOptions) {
    const grant = await deps.grants.get(broker.grantId)
    // an offline grant outlives its sessions (OIDC Back-Channel Logout §2.7): only its own revocation ends it
    const keepGrant = grant?.offline === true
    if (!keepGrant) await deps.grants.delete(broker.grantId)
    // every index entry of the session goes, its public id too
    await deps.index.remove(sessionId, broker)
    await deps.httpSession.destroy(sessionId)
    deps.watch.ended(sessionId)
    deps.metrics?.sessionEnds.inc({ reason: opts.reason })
    // RFC 7009: the refresh token and the access tokens (an offline grant's tokens serve on, so they stay)
    if (opts.revoke && !keepGrant && grant) await revokeGrantTokens(deps, grant)
    return { idToken: grant?.tokens.idToken }
  }

  return {
    async start(req, tokens, opts) {
      const offline = offlineGrantOf(tokens, opts?.offline)
      const session = await newSession(tokens, { ttlMs: offline ? deps.offlineGrantIdleMs : ttlMs, offline })
      const userAgent = req.get('user-agent')?.slice(0, 200)
      const broker: BrokerSession = userAgent ? { ...session, userAgent } : session
      const previous = req.session.broker
      const previousId = req.sessionID
      // a new session id at login: the pre-login id (possibly planted by an attacker) is dead afterwards
      await new Promise<void>((resolve, reject) => req.session.regenerate((err) => (err ? reject(err) : resolve())))
      if (previous) await end(previousId, previous, { revoke: true, reason: 'relogin' })
      req.session.broker = broker
      await new Promise<void>((resolve, reject) => req.session.save((err) => (err ? reject(err) : resolve())))
      await deps.index.add(req.sessionID, broker, ttlMs)
      if (offline) {
        const at = broker.createdAt
        const scopes = (tokens.scope ?? '').split(/[ ,]+/).filter(Boolean)
        await deps.offlineGrants.add({ grantId: broker.grantId, publicId: newPublicId(), sub: broker.sub, createdAt: at, lastUsedAt: at, scopes })
      }
      deps.logger.info({ event: LogEvents.loginSucceeded, sub: broker.sub, offline }, 'login succeeded')
      return broker
    },
    async startMobile(tokens, app, handoffUntil) {
      const pendingMs = Math.max(1000, handoffUntil - deps.now())
      const base = await newSession(tokens, { ttlMs: pendingMs, expiresAt: deps.now() + mobileTtlMs })
      const handle = newHandle()
      const sessionId = sessionIdOfHandle(handle)
      const broker: BrokerSession = { ...base, kind: 'mobile', clientId: app.clientId, dpopJkt: app.dpopJkt, handoffUntil }
      await deps.httpSession.save(sessionId, broker)
      await deps.index.add(sessionId, broker, mobileTtlMs)
      deps.logger.info({ event: LogEvents.loginSucceeded, sub: broker.sub, clientId: app.clientId }, 'mobile login succeeded')
      return { handle, sessionId }
    },
    async redeemed(sessionId, session) {
      const { handoffUntil: _, ...active } = session
      const grant = await deps.grants.get(session.grantId)
      if (!grant) throw sessionExpired({ detail: 'grant gone before the handoff' })
      // conditional writes only: a parallel second use of the code may be ending this session right now (RFC 6749
      // §4.1.2), and what it ended stays ended (the handle answered here is then dead, as a revoked token would be).
      // Session first: an ender deletes the grant before the session
      if (!(await deps.httpSession.replace(sessionId, active))) return active
      if (!(await deps.grants.extend(grant.id, Math.max(1000, (grant.expiresAt ?? deps.now()) - deps.now())))) {
        await deps.httpSession.destroy(sessionId)
      }
      return active
    },
    end,
  }
}
