import type { Request, RequestHandler, Response } from 'express'
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { ApiRoute } from '../../config/types.js'
import type { ApiProxy } from '../../proxy/api-proxy.js'
import type { RouteMatch, RouteTable } from '../../proxy/upstreams.js'
import type { TokenManager } from '../../tokens/token-manager.js'
import type { ClientCredentials } from '../../tokens/client-credentials.js'
import type { HttpSession } from '../../session/http-session.js'
import type { BrokerSession } from '../../session/session.js'
import type { Logger } from '../../observability/logger.js'
import { BffError, toBffError, unauthorized } from '../errors.js'
import { requireCsrfHeader } from '../middleware/csrf.js'
import { currentSession } from '../middleware/require-session.js'

export interface ApiRouteDeps {
  routeTable: RouteTable
  proxy: ApiProxy
  tokenManager: TokenManager
  clientCredentials: ClientCredentials
  httpSession: HttpSession
  withSession: RequestHandler[]
  requireSession: RequestHandler
  publicUrl: URL
  logger: Logger
}

/** Runs a chain of middleware in order, as express would, stopping at the first error. */
function run(chain: RequestHandler[], req: Request, res: Response): Promise<void> {
  return chain.reduce<Promise<void>>(
    (done, mw) =>
      done.then(
        () => new Promise<void>((resolve, reject) => {
          const result = mw(req, res, (err?: unknown) => (err ? reject(err) : resolve())) as unknown
          if (result instanceof Promise) result.catch(reject)
        }),
      ),
    Promise.resolve(),
  )
}

/**
 * The API proxy routes (DESIGN.md "any apis[].path prefix"): CSRF header, session (unless anonymous), token lookup
 * (401 session_expired before any upstream call when there is no usable token), then the upstream.
 */
export function createApiRoutes(deps: ApiRouteDeps) {
  async function tokenFor(route: ApiRoute, session: BrokerSession | undefined): Promise<string | undefined> {
    switch (route.token) {
      case 'none':
        return undefined
      case 'client':
        return deps.clientCredentials.tokenFor({ scopes: route.scopes, resource: route.resource })
      case 'user-or-client':
        return session
          ? deps.tokenManager.accessTokenFor(session, route)
          : deps.clientCredentials.tokenFor({ scopes: route.scopes, resource: route.resource })
      case 'user':
        if (!session) throw unauthorized()
        return deps.tokenManager.accessTokenFor(session, route)
    }
  }

  const handler: RequestHandler = async (req, res, next) => {
    const match = deps.routeTable.match(req.originalUrl)
    if (!match) return next()
    const { route } = match
    // a CSRF-less call never reaches an upstream (invariant 6), whatever else is wrong with it
    await run([requireCsrfHeader], req, res)
    let session: BrokerSession | undefined
    if (!route.anonymous || route.token === 'user-or-client') {
      await run(deps.withSession, req, res)
      if (!route.anonymous) await run([deps.requireSession], req, res)
      session = currentSession(req)
    }
    let token: string | undefined
    try {
      token = await tokenFor(route, session)
    } catch (err) {
      // the grant is gone (invalid_grant, or expired with no refresh token): the session goes with it
      if (err instanceof BffError && err.code === 'session_expired' && req.session) {
        await new Promise<void>((resolve) => req.session.destroy(() => resolve()))
      }
      throw err
    }
    await deps.proxy.forward(req, res, match, token)
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
    const sameSite = req.headers['sec-fetch-site']
    if (origin !== deps.publicUrl.origin && sameSite !== 'same-origin') return refuse(socket, 403, 'csrf_failed')
    try {
      const session = match.route.anonymous && match.route.token !== 'user-or-client'
        ? undefined
        : await deps.httpSession.load(req.headers.cookie)
      if (!match.route.anonymous && !session) return refuse(socket, 401, 'unauthorized')
      const token = await tokenFor(match.route, session)
      deps.proxy.upgrade(req, socket, head, match, token)
    } catch (err) {
      const error: BffError = toBffError(err)
      refuse(socket, error.status, error.code)
    }
  }

  return {
    handler,
    handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer) {
      void upgrade(req, socket, head)
    },
  }
}
