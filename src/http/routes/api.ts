import type { RequestHandler } from 'express'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { ApiRoute } from '../../config/types.js'
import type { ApiProxy } from '../../proxy/api-proxy.js'
import type { RouteMatch, RouteTable } from '../../proxy/upstreams.js'
import type { TokenManager } from '../../tokens/token-manager.js'
import type { ClientCredentials } from '../../tokens/client-credentials.js'
import type { HttpSession } from '../../session/http-session.js'
import type { SessionWatch } from '../../session/session-watch.js'
import type { Grant, GrantStore } from '../../session/grant-store.js'
import type { KeyValueStore } from '../../session/store.js'
import type { BrokerSession } from '../../session/session.js'
import type { Clock } from '../../tokens/clock.js'
import type { SecurityHeaders } from '../security-headers.js'
import type { TrackRequest } from '../middleware/request-context.js'
import { BffError, csrfFailed, sessionExpired, storeUnavailable, toBffError, unauthorized } from '../../errors.js'
import { writeError, type ErrorWriterOptions } from '../errors.js'

export interface ApiRouteDeps {
  routeTable: RouteTable
  proxy: ApiProxy
  tokenManager: TokenManager
  clientCredentials: ClientCredentials
  httpSession: HttpSession
  /** ties each WebSocket tunnel to its session and lifetime */
  sessionWatch: Pick<SessionWatch, 'add'>
  grants: GrantStore
  store: KeyValueStore
  clock: Clock
  absoluteTimeoutSeconds: number
  securityHeaders: SecurityHeaders
  track: TrackRequest
  errors: ErrorWriterOptions
  publicUrl: URL
  /** a Redis timeout or dropped connection: 503, never a 500 */
  isStoreError: (err: unknown) => boolean
}

/**
 * The API proxy routes (DESIGN.md "any apis[].path prefix"): CSRF header, session (unless anonymous), token lookup
 * (401 session_expired before any upstream call when there is no usable token), then the upstream.
 *
 * This is the hot path, so it does not go through express: it reads the cookie itself, loads the session and the
 * grant from Redis in one round trip (a session id always names the same grant: login issues a new id), and writes
 * the same headers and errors as the express routes (shared helpers).
 */
export function createApiRoutes(deps: ApiRouteDeps) {
  // session id → grant id: immutable once set, so the grant can be read in parallel with the session
  const grantOf = new Map<string, string>()

  async function loadSession(req: IncomingMessage): Promise<{ id: string; broker: BrokerSession; grant: Promise<Grant | undefined> } | undefined> {
    const id = deps.httpSession.idFromCookie(req.headers.cookie)
    if (!id) return undefined
    // fail fast while Redis is down (invariant 8): 503, never an anonymous 401
    if (!deps.store.isAvailable()) throw storeUnavailable({ detail: 'store not connected' })
    const knownGrant = grantOf.get(id)
    const prefetched = knownGrant ? deps.grants.get(knownGrant) : undefined
    prefetched?.catch(() => undefined) // awaited below, or dropped when the session is gone
    const broker = await deps.httpSession.load(id)
    if (!broker) {
      grantOf.delete(id)
      return undefined
    }
    if (deps.clock.now() - broker.createdAt > deps.absoluteTimeoutSeconds * 1000) {
      await deps.httpSession.destroy(id)
      throw sessionExpired({ detail: 'absolute timeout' })
    }
    deps.httpSession.touch(id, broker.createdAt)
    if (knownGrant === broker.grantId && prefetched) return { id, broker, grant: prefetched }
    if (grantOf.size >= 10_000) grantOf.clear()
    grantOf.set(id, broker.grantId)
    return { id, broker, grant: deps.grants.get(broker.grantId) }
  }

  async function tokenFor(route: ApiRoute, session: Awaited<ReturnType<typeof loadSession>>): Promise<string | undefined> {
    const client = () => deps.clientCredentials.tokenFor({ scopes: route.scopes, resource: route.resource })
    if (route.token === 'none') return undefined
    if (route.token === 'client') return client()
    if (!session) {
      if (route.token === 'user-or-client') return client()
      throw unauthorized()
    }
    try {
      return await deps.tokenManager.accessTokenFor(session.broker, route, session.grant)
    } catch (err) {
      // the grant is gone (invalid_grant, or expired with no refresh token): the session goes with it
      if (err instanceof BffError && err.code === 'session_expired') await deps.httpSession.destroy(session.id)
      throw err
    }
  }

  async function serve(req: IncomingMessage, res: ServerResponse, match: RouteMatch): Promise<void> {
    const { route } = match
    // a CSRF-less call never reaches an upstream (invariant 6), whatever else is wrong with it
    if (req.headers['x-csrf'] !== '1') throw csrfFailed()
    const needsSession = !route.anonymous || route.token === 'user-or-client'
    const session = needsSession ? await loadSession(req) : undefined
    if (!route.anonymous && !session) throw unauthorized()
    const token = await tokenFor(route, session)
    await deps.proxy.forward(req, res, match, token)
  }

  const fail = (req: IncomingMessage, res: ServerResponse, err: unknown) =>
    writeError(req, res, deps.isStoreError(err) ? storeUnavailable({ cause: err }) : err, false, deps.errors)

  /** The raw entry: true when the request is for an API route and was taken; false leaves it to express. */
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
    deps.securityHeaders.applyApi(res)
    deps.track(req, res, match.route.path)
    serve(req, res, match).catch((err: unknown) => fail(req, res, err))
    return true
  }

  /** The same routes as express middleware (used when the raw entry is off, e.g. trustProxy names subnets). */
  const handler: RequestHandler = (req, res, next) => {
    const match = deps.routeTable.match(req.originalUrl)
    if (!match) return next()
    serve(req, res, match).catch(next)
  }

  function refuse(socket: Duplex, status: number, code: string) {
    const body = JSON.stringify({ error: code })
    socket.end(
      `HTTP/1.1 ${status} ${code}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    )
  }

  /**
   * WebSocket upgrades: a browser cannot add the CSRF header to a WebSocket handshake, so the route must be flagged
   * `websocket: true` and the Origin must be the broker's own (cross-site WebSocket hijacking defence).
   */
  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer) {
    let match: RouteMatch | undefined
    try {
      match = deps.routeTable.match(req.url ?? '/')
    } catch {
      return refuse(socket, 400, 'invalid_request')
    }
    if (!match || !match.route.websocket) return refuse(socket, 404, 'not_found')
    const origin = req.headers.origin
    if (origin !== deps.publicUrl.origin && req.headers['sec-fetch-site'] !== 'same-origin') return refuse(socket, 403, 'csrf_failed')
    try {
      const { route } = match
      const session = !route.anonymous || route.token === 'user-or-client' ? await loadSession(req) : undefined
      if (!route.anonymous && !session) return refuse(socket, 401, 'unauthorized')
      deps.proxy.upgrade(req, socket, head, match, await tokenFor(route, session))
      deps.sessionWatch.add(socket, route.websocketMaxLifetimeSeconds, session && {
        id: session.id, expiresAt: session.broker.createdAt + deps.absoluteTimeoutSeconds * 1000,
      })
    } catch (err) {
      const error = toBffError(err)
      refuse(socket, error.status, error.code)
    }
  }

  return {
    handle,
    handler,
    handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer) {
      void upgrade(req, socket, head)
    },
  }
}
