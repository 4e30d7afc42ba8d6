import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { ApiRoute } from '../../config/types.js'
import type { ApiProxy } from '../../proxy/api-proxy.js'
import type { RouteMatch, RouteTable } from '../../proxy/upstreams.js'
import type { TokenManager } from '../../tokens/token-manager.js'
import type { ClientCredentials } from '../../tokens/client-credentials.js'
import type { SessionLifecycle } from '../session-lifecycle.js'
import type { JobCalls } from '../../jobs/job-calls.js'
import type { SessionWatch } from '../../session/session-watch.js'
import type { SecurityHeaders } from '../security-headers.js'
import type { TrackRequest } from '../middleware/request-context.js'
import { expiredHandle, schemeOf, type Authenticator, type Caller, type CookieGuard } from '../authenticate.js'
import { BffError, notFound, unauthorized } from '../../errors.js'
import { writeError, writeUpgradeRefusal, type ErrorWriterOptions } from '../errors.js'

export interface ApiRouteDeps {
  routeTable: RouteTable
  proxy: ApiProxy
  auth: Authenticator
  tokenManager: TokenManager
  clientCredentials: ClientCredentials
  /** a session whose grant is gone (invalid_grant) is ended here */
  sessions: Pick<SessionLifecycle, 'end'>
  jobCalls: JobCalls
  /** ties each WebSocket tunnel to its session and lifetime */
  sessionWatch: Pick<SessionWatch, 'add'>
  securityHeaders: SecurityHeaders
  track: TrackRequest
  /** the one error writer's options (the same as the express error handler's) */
  errors: ErrorWriterOptions
  /** upgrades for paths no API route takes (the frontend dev server's hot reload); without it they are a 404 */
  otherUpgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void
}

/**
 * The API proxy routes: the authentication step (cookie + CSRF header, or a mobile handle + DPoP proof), the token
 * lookup (401 session_expired before any upstream call when there is no usable token), then the upstream.
 *
 * This is the hot path, so it does not go through express, whatever trustProxy says; it uses the same authentication
 * step (store, CSRF, session and absolute-timeout guards), the same forwarding rules and the same error writer as the
 * express routes.
 */
export function createApiRoutes(deps: ApiRouteDeps) {
  async function tokenFor(route: ApiRoute, caller: Caller): Promise<string | undefined> {
    const client = () => deps.clientCredentials.tokenFor({ scopes: route.scopes, resource: route.resource })
    if (route.token === 'none') return undefined
    if (route.token === 'client') return client()
    if (caller.kind !== 'session') {
      if (route.token === 'user-or-client') return client()
      throw unauthorized()
    }
    try {
      return await deps.tokenManager.accessTokenFor(caller.session, route, caller.grant)
    } catch (err) {
      // the grant is gone (invalid_grant, or expired with no refresh token): the session goes with it
      if (!(err instanceof BffError && err.code === 'session_expired')) throw err
      await deps.sessions.end(caller.sessionId, caller.session, { revoke: false, reason: 'invalid_grant' })
      throw caller.transport === 'handle' ? expiredHandle(schemeOf(caller.session), err) : err
    }
  }

  async function authorize(
    req: IncomingMessage,
    res: ServerResponse | undefined,
    route: ApiRoute,
    guard: CookieGuard,
  ): Promise<{ token: string | undefined; caller: Caller }> {
    // a CSRF-less cookie call never reaches an upstream (invariant 6), whatever else is wrong with it
    const loadSession = !route.anonymous || route.token === 'user-or-client'
    const caller = await deps.auth.authenticate(req, { guard, loadSession })
    if (caller.kind === 'job') return { token: await deps.jobCalls.tokenFor(req, res, route, caller), caller }
    if (!route.anonymous && caller.kind !== 'session') throw unauthorized()
    return { token: await tokenFor(route, caller), caller }
  }

  const fail = (req: IncomingMessage, res: ServerResponse, err: unknown) => writeError(req, res, err, false, deps.errors)

  /** The one entry of the API routes: true when the request is for an API route and was taken; false leaves it to express. */
  function handle(req: IncomingMessage, res: ServerResponse): boolean {
    let match: RouteMatch | undefined
    try {
      match = deps.routeTable.match(req.url ?? '/')
    } catch (err) {
      // a hostile path is refused whether or not it names a route (invariant 13)
      deps.securityHeaders.applyApi(res)
      deps.track(req, res, 'other')
      fail(req, res, err)
      return true
    }
    if (!match) return false
    const taken = match
    deps.track(req, res, taken.route.path)
    // the security headers go out with the answer's head (one writeHead), or with the error
    authorize(req, res, taken.route, 'csrf-header')
      .then(({ token }) => deps.proxy.forward(req, res, taken, token, deps.securityHeaders.api))
      .catch((err: unknown) => {
        if (!res.headersSent) deps.securityHeaders.applyApi(res)
        fail(req, res, err)
      })
    return true
  }

  /**
   * WebSocket upgrades: a browser cannot add the CSRF header to a WebSocket handshake, so the route must be flagged
   * `websocket: true` and a cookie caller's Origin must be the broker's own (cross-site WebSocket hijacking defence).
   */
  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer) {
    let match: RouteMatch | undefined
    try {
      match = deps.routeTable.match(req.url ?? '/')
      if (!match && deps.otherUpgrade) return deps.otherUpgrade(req, socket, head)
      if (!match?.route.websocket) throw notFound()
      const { token, caller } = await authorize(req, undefined, match.route, 'same-origin')
      deps.proxy.upgrade(req, socket, head, match, token)
      const session = caller.kind === 'session' ? { id: caller.sessionId, expiresAt: caller.expiresAt } : undefined
      deps.sessionWatch.add(socket, match.route.websocketMaxLifetimeSeconds, session)
    } catch (err) {
      writeUpgradeRefusal(req, socket, err, deps.errors)
    }
  }

  return {
    handle,
    handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer) {
      void upgrade(req, socket, head)
    },
  }
}
