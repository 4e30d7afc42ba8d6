import type { RequestHandler } from 'express'
import { currentSession } from '../middleware/require-session.js'
import { sessionExpiresAt } from '../../session/session.js'
import { unauthorized } from '../../errors.js'

/** GET /bff/user: the user's claims (always `sub`), when the session ends, and the logout URL. */
export function createSessionInfoRoute(deps: {
  basePath: string
  timeouts: { idleTimeoutSeconds: number; absoluteTimeoutSeconds: number }
  now: () => number
}): RequestHandler {
  return (req, res) => {
    const broker = currentSession(req)
    if (!broker) throw unauthorized()
    res.set('Cache-Control', 'no-store').json({
      ...broker.claims,
      sub: broker.sub,
      sessionExpiresAt: sessionExpiresAt(broker, deps.now(), deps.timeouts),
      logoutUrl: `${deps.basePath}/logout?sid=${encodeURIComponent(broker.logoutSid)}`,
    })
  }
}
