import type { Request, RequestHandler } from 'express'
import type { BrokerSession } from '../../session/session.js'
import { storeUnavailable } from '../../errors.js'

/** Session guard: 503 when the store could not load the session (never a 401 that would log the SPA user out). */
export const requireLoadedSession: RequestHandler = (req, _res, next) => {
  // express-session calls next() without a session when its store reported a disconnect: fail closed
  if (!req.session) return next(storeUnavailable({ detail: 'session not loaded' }))
  next()
}

/** The express-session record of a cookie navigation (login, callback, logout): those routes run express-session. */
export function currentSession(req: Request): BrokerSession | undefined {
  return req.session?.broker
}
