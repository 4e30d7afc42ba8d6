import type { RequestHandler } from 'express'
import { callerOf } from '../authenticate.js'
import type { SessionAdmin } from '../session-admin.js'
import { forbidden, notFound, unauthorized } from '../../errors.js'
import type { Logger } from '../../observability/logger.js'
import { LogEvents, type LogEvent } from '../../observability/log-events.js'

/**
 * The operators' session administration API, for job clients with `admin: true` (their job token): a user's
 * sessions and offline grants, end one session, sign a user out everywhere. Each action is one audit line
 * (actor, target, result), and so is each refusal of a job that is not an admin.
 */
export function createAdminRoutes(deps: { admin: SessionAdmin; logger: Logger }) {
  const audit = (event: LogEvent, actor: string, target: string, result: string | number | object) =>
    deps.logger.info({ event, actor, target, result }, 'admin action')

  const guard: RequestHandler = (req, _res, next) => {
    const caller = callerOf(req)
    // RFC 6750 §3: only a job token authenticates here, so the challenge names the Bearer scheme
    if (caller.kind !== 'job') return next(unauthorized({ wwwAuthenticate: 'Bearer realm="bff"' }))
    if (!caller.client.admin) {
      audit(LogEvents.adminRefused, caller.client.id, req.path, 'forbidden')
      return next(forbidden({ detail: `job ${caller.client.id} is not an admin client` }))
    }
    next()
  }
  const actor = (req: Parameters<RequestHandler>[0]) => {
    const caller = callerOf(req)
    return caller.kind === 'job' ? caller.client.id : 'unknown'
  }

  const listUser: RequestHandler = async (req, res) => {
    const sub = String(req.params.sub)
    const found = await deps.admin.list(sub)
    audit(LogEvents.adminListSessions, actor(req), sub, { sessions: found.sessions.length, grants: found.grants.length })
    res.set('Cache-Control', 'no-store').json(found)
  }

  const endSession: RequestHandler = async (req, res) => {
    const id = String(req.params.id)
    const ended = await deps.admin.endSession(id)
    audit(LogEvents.adminEndSession, actor(req), id, ended ? 'ended' : 'not_found')
    if (!ended) throw notFound({ message: 'No such session.' })
    res.set('Cache-Control', 'no-store').status(204).end()
  }

  const endUser: RequestHandler = async (req, res) => {
    const sub = String(req.params.sub)
    const counts = await deps.admin.endUser(sub)
    audit(LogEvents.adminEndUser, actor(req), sub, counts)
    res.set('Cache-Control', 'no-store').json(counts)
  }

  return { guard, listUser, endSession, endUser }
}
