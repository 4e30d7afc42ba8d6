import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ApiRoute } from '../config/types.js'
import type { ClientCredentials } from '../tokens/client-credentials.js'
import type { TokenManager } from '../tokens/token-manager.js'
import type { OfflineGrantRecords, OfflineGrants } from '../session/offline-grants.js'
import type { GrantStore } from '../session/grant-store.js'
import type { JobCaller } from '../http/authenticate.js'
import type { SessionAdmin } from '../http/session-admin.js'
import type { Logger } from '../observability/logger.js'
import { LogEvents } from '../observability/log-events.js'
import { BffError, forbidden, invalidRequest, noOfflineGrant } from '../errors.js'
import { headerLineCount } from '../http/header-lines.js'

const maxSubLength = 255
const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * The user one `X-On-Behalf-Of` header names, or undefined without one. Node hands header bytes over as latin1; they
 * are read as UTF-8 (as the admin API reads a percent-encoded sub in its path), so a job names any user by the same
 * string. Several headers, an empty one, bytes that are not UTF-8 or more than 255 characters (OIDC Core §2) name no one.
 */
function subjectOf(req: IncomingMessage): string | undefined {
  const joined = req.headers['x-on-behalf-of']
  if (joined === undefined) return undefined
  // node joins repeated headers with ', ': only then is the (costlier) per-line view read, to tell two from one
  const single = typeof joined === 'string' && (!joined.includes(', ') || headerLineCount(req, 'x-on-behalf-of') === 1)
  const sub = single ? decoded(joined) : undefined
  if (!sub || sub.length > maxSubLength) throw invalidRequest({ message: 'X-On-Behalf-Of must name one user.' })
  return sub
}

function decoded(value: string): string | undefined {
  if (!/[^\x00-\x7f]/.test(value)) return value
  try {
    return utf8.decode(Buffer.from(value, 'latin1'))
  } catch {
    return undefined
  }
}

export interface JobCalls {
  /** the token a job's call to `route` carries (client credentials, or the offline grant of X-On-Behalf-Of) */
  tokenFor(req: IncomingMessage, res: ServerResponse | undefined, route: ApiRoute, caller: JobCaller): Promise<string | undefined>
}

/**
 * A background job's API call: only to the routes its client lists; as the application on `token: client` routes,
 * or for a user (`X-On-Behalf-Of: <sub>`) through that user's offline grant, refreshed under the grant's lock like
 * a browser's. Each call is one audit line (`job.call`) when its answer is written, never with a token.
 */
export function createJobCalls(deps: {
  offlineGrants: OfflineGrants
  tokenManager: TokenManager
  clientCredentials: ClientCredentials
  /** opens the sealed record read beside an offline grant's metadata */
  grants: Pick<GrantStore, 'open'>
  admin: Pick<SessionAdmin, 'dropGrant'>
  logger: Logger
}): JobCalls {
  // one child logger per job client and route (a fixed, small set): its fields are serialised once, not per call
  const auditLoggers = new Map<string, Logger>()
  const auditLogger = (job: string, route: string) => {
    const key = `${job}\n${route}`
    let logger = auditLoggers.get(key)
    if (!logger) auditLoggers.set(key, (logger = deps.logger.child({ event: LogEvents.jobCall, job, route })))
    return logger
  }
  /** logged when the answer is written (its status known); a WebSocket upgrade has no answer object: logged at once */
  function audit(res: ServerResponse | undefined, fields: { job: string; route: string; sub?: string; grant?: string }) {
    const log = (status: number | string) => auditLogger(fields.job, fields.route).info({ sub: fields.sub, grant: fields.grant, status }, 'job call')
    if (res) res.once('finish', () => log(res.statusCode))
    else queueMicrotask(() => log('upgrade'))
  }

  // user → the offline grant that served them last: only a pointer. Each call reads that grant, its record and its
  // "a newer grant exists" marker in one MGET (currentWithRecord), so a revoked, expired or superseded grant is never
  // used from here (revocation holds on the next request); then the user's whole list is read, as without it
  const lastServed = new Map<string, string>()

  /**
   * The token of the first of `entries` the token manager can serve, and that entry; one the provider refuses
   * (invalid_grant) is dropped.
   */
  async function firstUsable(route: ApiRoute, sub: string, entries: OfflineGrantRecords, audited: { grant?: string }) {
    for (const entry of entries) {
      const { grant, sealed } = entry
      try {
        const record = Promise.resolve(deps.grants.open(grant.grantId, sealed))
        const token = await deps.tokenManager.accessTokenFor({ grantId: grant.grantId }, route, record)
        deps.offlineGrants.touch(grant)
        audited.grant = grant.publicId
        if (lastServed.size >= 10_000) lastServed.clear()
        lastServed.set(sub, grant.grantId)
        return { token, entry }
      } catch (err) {
        if (!(err instanceof BffError && err.code === 'session_expired')) throw err
        lastServed.delete(sub)
        await deps.admin.dropGrant(grant, { revoke: false, reason: 'invalid_grant' })
      }
    }
    return undefined
  }

  /** the newest usable offline grant of the user serves, not retried once the provider refused it */
  async function onBehalfOf(route: ApiRoute, sub: string, audited: { grant?: string }): Promise<string> {
    const remembered = lastServed.get(sub)
    const current = remembered === undefined ? undefined : await deps.offlineGrants.currentWithRecord(remembered)
    if (current?.grant.sub === sub) {
      const served = await firstUsable(route, sub, [current], audited)
      if (served) return served.token
    }
    lastServed.delete(sub)
    const served = await firstUsable(route, sub, await deps.offlineGrants.listWithRecords(sub), audited)
    if (!served) throw noOfflineGrant({ detail: 'no usable offline grant for the user' })
    // the grant that served is the newest usable one: a marker on it names a grant that has gone since (else every
    // later call would take this longer path)
    const { grant, newer } = served.entry
    if (newer !== undefined) void deps.offlineGrants.clearStaleMarker(grant.grantId, newer).catch(() => undefined)
    return served.token
  }

  return {
    async tokenFor(req, res, route, caller) {
      const fields: { job: string; route: string; sub?: string; grant?: string } = { job: caller.client.id, route: route.path }
      audit(res, fields)
      if (!caller.client.apis.includes(route.path)) throw forbidden({ detail: `job ${caller.client.id} may not call ${route.path}` })
      const sub = subjectOf(req)
      if (route.token === 'none') return undefined
      if (route.token === 'client' || (route.token === 'user-or-client' && sub === undefined)) {
        return deps.clientCredentials.tokenFor({ scopes: route.scopes, resource: route.resource })
      }
      if (sub === undefined) throw invalidRequest({ message: 'X-On-Behalf-Of is required on a user route.' })
      if (!caller.client.onBehalfOf) throw forbidden({ detail: `job ${caller.client.id} may not act on behalf of users` })
      fields.sub = sub
      return onBehalfOf(route, sub, fields)
    },
  }
}
