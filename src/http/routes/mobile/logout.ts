import type { RequestHandler } from 'express'
import type { Logger } from '../../../observability/logger.js'
import { LogEvents } from '../../../observability/log-events.js'
import { unauthorized } from '../../../errors.js'
import { callerOf } from '../../authenticate.js'
import type { SessionLifecycle } from '../../session-lifecycle.js'

/**
 * POST /bff/mobile/logout, after the authentication step (the handle and its proof, or a cookie and the CSRF
 * header): the session ends on every instance and the refresh token is revoked (RFC 7009), as at browser logout.
 */
export function createMobileLogoutRoute(deps: {
  sessions: SessionLifecycle
  logger: Logger
  sessionCookie: { name: string; secure: boolean; sameSite: 'strict' | 'lax' }
}): RequestHandler {
  return async (req, res) => {
    const caller = callerOf(req)
    if (caller.kind !== 'session') throw unauthorized()
    await deps.sessions.end(caller.sessionId, caller.session, { revoke: true, reason: 'mobile_logout' })
    if (caller.transport === 'cookie') {
      const { name, secure, sameSite } = deps.sessionCookie
      res.clearCookie(name, { path: '/', httpOnly: true, secure, sameSite })
    }
    deps.logger.info({ event: LogEvents.mobileLogout, sub: caller.session.sub, clientId: caller.session.clientId }, 'logout')
    res.set('Cache-Control', 'no-store').status(204).end()
  }
}
