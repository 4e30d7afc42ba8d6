import type { RequestHandler } from 'express'
import type { OAuthProvider } from '../../oauth/provider.js'
import type { Logger } from '../../observability/logger.js'
import { LogEvents } from '../../observability/log-events.js'
import { currentSession } from '../middleware/require-session.js'
import type { SessionLifecycle } from '../session-lifecycle.js'
import { invalidRequest } from '../../errors.js'
import { safeReturnTo } from '../return-to.js'
import { clearLoginCookies, pendingLoginCookies, type LoginCookieOptions } from '../login-cookies.js'

/**
 * GET /bff/logout?sid=…&returnTo=…: the sid (an opaque per-session value from /bff/user's logoutUrl) is the CSRF
 * guard of this navigation. Ends the session, revokes the refresh token (RFC 7009), clears the cookies, then goes to
 * the provider's end-session endpoint (OIDC RP-Initiated Logout) or to returnTo.
 */
export function createLogoutRoute(deps: {
  provider: OAuthProvider
  sessions: SessionLifecycle
  logger: Logger
  publicUrl: URL
  allowedReturnOrigins: readonly string[]
  sessionCookie: { name: string; secure: boolean; sameSite: 'strict' | 'lax' }
  loginCookie: LoginCookieOptions
  logoutIdTokenHint: boolean
}): RequestHandler {
  return async (req, res) => {
    const returnTo = safeReturnTo(req.query.returnTo, deps.publicUrl, deps.allowedReturnOrigins)
    if (!returnTo) throw invalidRequest({ message: 'returnTo must be a relative path on this site.' })
    res.set('Cache-Control', 'no-store')
    const broker = currentSession(req)
    if (!broker) return res.redirect(302, '/')
    if (req.query.sid !== broker.logoutSid) throw invalidRequest({ message: 'The logout link does not match this session.' })
    const { idToken } = await deps.sessions.end(req.sessionID, broker, { revoke: true, reason: 'logout' })
    // and tell express-session, so that nothing writes the session back at the end of this response
    await new Promise<void>((resolve) => req.session.destroy(() => resolve()))
    res.clearCookie(deps.sessionCookie.name, {
      path: '/',
      httpOnly: true,
      secure: deps.sessionCookie.secure,
      sameSite: deps.sessionCookie.sameSite,
    })
    // and any login this browser still had pending: nothing of the ended session's logins outlives it
    clearLoginCookies(res, deps.loginCookie, pendingLoginCookies(req, deps.loginCookie.name).map((c) => c.name))
    deps.logger.info({ event: LogEvents.logout, sub: broker.sub }, 'logout')
    const endSession = deps.provider.isReady()
      ? await deps.provider
          .endSessionUrl({
            idTokenHint: deps.logoutIdTokenHint ? idToken : undefined,
            postLogoutRedirectUri: new URL(returnTo, deps.publicUrl).href,
          })
          .catch(() => undefined)
      : undefined
    res.redirect(302, endSession?.href ?? returnTo)
  }
}
