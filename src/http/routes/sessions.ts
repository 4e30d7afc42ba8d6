import type { RequestHandler } from 'express'
import { callerOf } from '../authenticate.js'
import type { SessionAdmin } from '../session-admin.js'
import { notFound, unauthorized } from '../../errors.js'
import type { Logger } from '../../observability/logger.js'
import { LogEvents } from '../../observability/log-events.js'

type CookieOptions = { name: string; secure: boolean; sameSite: 'strict' | 'lax' }

const sessionOf = (req: Parameters<RequestHandler>[0]) => {
  const caller = callerOf(req)
  if (caller.kind !== 'session') throw unauthorized()
  return caller
}

/**
 * Self-service session administration, after the authentication step (the user's cookie and CSRF header, or a
 * mobile handle): list my sessions and offline grants, sign one device out, revoke an offline grant. Another user's
 * id is a 404, never a hint that it exists.
 */
export function createSelfServiceRoutes(deps: { admin: SessionAdmin; sessionCookie: CookieOptions; logger: Logger }) {
  const list: RequestHandler = async (req, res) => {
    const caller = sessionOf(req)
    res.set('Cache-Control', 'no-store').json(await deps.admin.list(caller.session.sub, caller.sessionId))
  }

  const endSession: RequestHandler = async (req, res) => {
    const caller = sessionOf(req)
    const ended = await deps.admin.endSession(String(req.params.id), caller.session.sub)
    if (!ended) throw notFound({ message: 'No such session.' })
    deps.logger.info({ event: LogEvents.logout, sub: caller.session.sub, session: req.params.id }, 'session ended by its user')
    // the caller's own current session too: its cookie goes with it
    if (ended.sessionId === caller.sessionId && caller.transport === 'cookie') {
      const { name, secure, sameSite } = deps.sessionCookie
      res.clearCookie(name, { path: '/', httpOnly: true, secure, sameSite })
    }
    res.set('Cache-Control', 'no-store').status(204).end()
  }

  const revokeGrant: RequestHandler = async (req, res) => {
    const caller = sessionOf(req)
    if (!(await deps.admin.revokeGrant(String(req.params.id), caller.session.sub))) throw notFound({ message: 'No such grant.' })
    res.set('Cache-Control', 'no-store').status(204).end()
  }

  return { list, endSession, revokeGrant }
}
