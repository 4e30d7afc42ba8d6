import type { RequestHandler } from 'express'
import { callerOf } from '../authenticate.js'
import { sessionExpiresAt, timeoutsOf, type BrokerSession, type SessionTimeouts } from '../../session/session.js'
import { unauthorized } from '../../errors.js'

export interface SessionInfoDeps {
  basePath: string
  timeouts: SessionTimeouts
  now: () => number
}

/** The /bff/user answer: the user's claims (always `sub`), when the session ends, and the logout URL. */
export function sessionInfo(session: BrokerSession, deps: SessionInfoDeps): Record<string, unknown> {
  return {
    ...session.claims,
    sub: session.sub,
    sessionExpiresAt: sessionExpiresAt(session, deps.now(), timeoutsOf(session, deps.timeouts)),
    logoutUrl: `${deps.basePath}/logout?sid=${encodeURIComponent(session.logoutSid)}`,
  }
}

/** GET /bff/user, after the authentication step (cookie + CSRF header, or a mobile handle). */
export function createSessionInfoRoute(deps: SessionInfoDeps): RequestHandler {
  return (req, res) => {
    const caller = callerOf(req)
    if (caller.kind !== 'session') throw unauthorized()
    res.set('Cache-Control', 'no-store').json(sessionInfo(caller.session, deps))
  }
}
