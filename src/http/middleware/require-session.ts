import type { Request, RequestHandler } from 'express'
import type { BrokerSession } from '../../session/session.js'
import type { HttpSession } from '../../session/http-session.js'
import { sessionExpired, storeUnavailable, unauthorized } from '../../errors.js'

/** Session guard: 503 when the store could not load the session (never a 401 that would log the SPA user out). */
export const requireLoadedSession: RequestHandler = (req, _res, next) => {
  // express-session calls next() without a session when its store reported a disconnect: fail closed
  if (!req.session) return next(storeUnavailable({ detail: 'session not loaded' }))
  next()
}

export function currentSession(req: Request): BrokerSession | undefined {
  return req.session?.broker
}

/**
 * 401 JSON without a session, never a redirect (DESIGN.md invariant 6). A session past its absolute lifetime is
 * destroyed and answers session_expired. Otherwise the idle timeout slides, off the critical path.
 */
export function createRequireSession(deps: {
  httpSession: HttpSession
  absoluteTimeoutSeconds: number
  now: () => number
}): RequestHandler {
  return (req, _res, next) => {
    const broker = currentSession(req)
    if (!broker) return next(unauthorized())
    if (deps.now() - broker.createdAt > deps.absoluteTimeoutSeconds * 1000) {
      req.session.destroy(() => next(sessionExpired({ detail: 'absolute timeout' })))
      return
    }
    deps.httpSession.touch(req.sessionID, broker.createdAt)
    next()
  }
}
