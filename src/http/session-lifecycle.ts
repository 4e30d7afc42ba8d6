import { randomBytes } from 'node:crypto'
import type { Request } from 'express'
import type { OAuthProvider, TokenSet } from '../oauth/provider.js'
import type { GrantStore } from '../session/grant-store.js'
import type { SessionIndex } from '../session/session-index.js'
import type { HttpSession } from '../session/http-session.js'
import type { SessionWatch } from '../session/session-watch.js'
import { readSubject, userClaims, type BrokerSession } from '../session/session.js'
import type { Logger } from '../observability/logger.js'
import { LogEvents } from '../observability/log-events.js'
import { loginFailed } from '../errors.js'

export interface SessionLifecycle {
  /** after a successful token request: resolve the user, store the grant, rotate the session id (invariant 3) */
  start(req: Request, tokens: TokenSet): Promise<BrokerSession>
  /** ends one session: grant, index entries and session record; revokes the refresh token when asked */
  end(sessionId: string, broker: BrokerSession, opts: { revoke: boolean }): Promise<{ idToken?: string }>
}

export const newId = () => randomBytes(32).toString('base64url')

export function createSessionLifecycle(deps: {
  provider: OAuthProvider
  grants: GrantStore
  index: SessionIndex
  httpSession: HttpSession
  /** open WebSocket tunnels of an ended session are cut here at once (other instances: at their next check) */
  watch: Pick<SessionWatch, 'ended'>
  logger: Logger
  subjectClaim: string
  absoluteTimeoutSeconds: number
  now: () => number
}): SessionLifecycle {
  const ttlMs = deps.absoluteTimeoutSeconds * 1000

  async function identify(tokens: TokenSet) {
    // README "Provider dialects" (subjectClaim): the subject is looked up in the ID token, then the userinfo ("me")
    // answer, then the token response
    let subject = readSubject(tokens.idTokenClaims, deps.subjectClaim)
    let info: Readonly<Record<string, unknown>> | undefined
    if (!subject || !tokens.idTokenClaims) {
      info = await deps.provider.userinfo(tokens.accessToken)
      subject ??= readSubject(info, deps.subjectClaim)
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
    return { subject, claims, providerSid }
  }

  async function end(sessionId: string, broker: BrokerSession, opts: { revoke: boolean }) {
    const grant = await deps.grants.get(broker.grantId)
    await deps.grants.delete(broker.grantId)
    await deps.index.remove(sessionId, { sub: broker.sub, providerSid: broker.providerSid })
    await deps.httpSession.destroy(sessionId)
    deps.watch.ended(sessionId)
    const refreshToken = grant?.tokens.refreshToken
    if (opts.revoke && refreshToken && deps.provider.hasRevocation()) {
      // RFC 7009: best effort; the grant is already gone on our side whatever the provider answers
      await deps.provider.revoke(refreshToken, 'refresh_token').catch((err: unknown) => {
        deps.logger.warn(
          { event: LogEvents.revocationFailed, err: err instanceof Error ? err.message : String(err) },
          'refresh token revocation failed',
        )
      })
    }
    return { idToken: grant?.tokens.idToken }
  }

  return {
    async start(req, tokens) {
      const { subject, claims, providerSid } = await identify(tokens)
      const grantId = newId()
      await deps.grants.put(
        { id: grantId, subject, tokens, apiTokens: {}, createdAt: deps.now(), version: 1 },
        ttlMs,
      )
      const previous = req.session.broker
      const previousId = req.sessionID
      // a new session id at login: the pre-login id (possibly planted by an attacker) is dead afterwards
      await new Promise<void>((resolve, reject) => req.session.regenerate((err) => (err ? reject(err) : resolve())))
      if (previous) await end(previousId, previous, { revoke: true })
      const broker: BrokerSession = { sub: subject, claims, grantId, logoutSid: newId(), providerSid, createdAt: deps.now() }
      req.session.broker = broker
      await new Promise<void>((resolve, reject) => req.session.save((err) => (err ? reject(err) : resolve())))
      await deps.index.add(req.sessionID, { sub: subject, providerSid }, ttlMs)
      deps.logger.info({ event: LogEvents.loginSucceeded, sub: subject }, 'login succeeded')
      return broker
    },
    end,
  }
}
