import type { RequestHandler } from 'express'
import type { OAuthProvider } from '../../oauth/provider.js'
import type { SessionIndex } from '../../session/session-index.js'
import type { HttpSession } from '../../session/http-session.js'
import type { Logger } from '../../observability/logger.js'
import { LogEvents } from '../../observability/log-events.js'
import type { SessionLifecycle } from '../session-lifecycle.js'
import { invalidRequest } from '../../errors.js'

/**
 * POST /bff/backchannel-logout (OpenID Connect Back-Channel Logout 1.0): the provider posts a signed logout token
 * naming a `sid` and/or `sub`; every session it names ends. Authenticated by the token's signature, not a cookie.
 */
export function createBackchannelLogoutRoute(deps: {
  provider: OAuthProvider
  index: SessionIndex
  httpSession: HttpSession
  sessions: SessionLifecycle
  logger: Logger
}): RequestHandler {
  return async (req, res) => {
    const body = req.body as Record<string, unknown> | undefined
    const token = body?.logout_token
    if (typeof token !== 'string' || token.length === 0) throw invalidRequest({ message: 'logout_token is required.' })
    await deps.provider.ensureReady()
    const claims = await deps.provider.verifyLogoutToken(token)
    const ids = await deps.index.find({ sub: claims.sid ? undefined : claims.sub, providerSid: claims.sid })
    let ended = 0
    for (const id of ids) {
      const record = await new Promise<unknown>((resolve) =>
        deps.httpSession.store.get(id, (err, sess) => resolve(err ? undefined : sess)),
      )
      const broker = (record as { broker?: Parameters<SessionLifecycle['end']>[1] } | undefined)?.broker
      // §2.7: when both are present the session must match both
      if (!broker || (claims.sub && broker.sub !== claims.sub)) continue
      await deps.sessions.end(id, broker, { revoke: false })
      ended++
    }
    deps.logger.info({ event: LogEvents.backchannelLogout, sessions: ended }, 'back-channel logout')
    res.set('Cache-Control', 'no-store').status(200).end()
  }
}
