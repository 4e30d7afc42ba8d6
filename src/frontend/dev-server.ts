import type { RequestHandler } from 'express'
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { ApiRoute } from '../config/types.js'
import { notFound } from '../errors.js'
import type { ApiProxy } from '../proxy/api-proxy.js'
import { assertSafePath, joinUnderTarget, splitRawTarget } from '../proxy/path.js'
import type { RouteMatch } from '../proxy/upstreams.js'

export interface DevServerOptions {
  target: URL
  contentSecurityPolicy: string
  /** paths the broker keeps for itself (basePath, /healthz …): never proxied */
  ownsPath(path: string): boolean
  /** the API routes' proxy: the same header policy (no Cookie, no Authorization, no Set-Cookie back) */
  proxy: ApiProxy
}

/**
 * `npm run dev` behind the broker: every path the broker and the API routes leave is proxied to the frontend dev
 * server, WebSocket upgrades too (hot reload). The dev server is an upstream like an API with `token: none`: it gets
 * no token, no Cookie (it does not need the session) and cannot set cookies on the broker's origin.
 */
export function createDevServerProxy(opts: DevServerOptions) {
  const route: ApiRoute = {
    path: '/',
    target: opts.target,
    token: 'none',
    timeoutMs: 30_000,
    anonymous: true,
    websocket: true,
    websocketMaxLifetimeSeconds: 86_400,
    passSetCookie: false,
  }

  /** The upstream request target, or undefined for a broker path; throws 400 for a hostile path (invariant 13). */
  function matchOf(rawTarget: string): RouteMatch | undefined {
    const { path, query } = splitRawTarget(rawTarget)
    if (opts.ownsPath(path)) return undefined
    assertSafePath(path)
    return { route, upstreamPath: joinUnderTarget(opts.target, path, query) }
  }

  const handler: RequestHandler = (req, res, next) => {
    const match = matchOf(req.originalUrl)
    if (match === undefined) return next()
    const brokerPolicy = res.getHeader('content-security-policy')
    // a header already set on the answer wins over the dev server's (api-proxy.ts answerHead), so this one is the page's
    res.setHeader('Content-Security-Policy', opts.contentSecurityPolicy)
    opts.proxy.forward(req, res, match, undefined).catch((err: unknown) => {
      // the error page is the broker's own answer, under the broker's own policy
      if (brokerPolicy !== undefined && !res.headersSent) res.setHeader('Content-Security-Policy', brokerPolicy)
      next(err)
    })
  }

  /** A WebSocket upgrade no API route took (the dev server's hot-reload socket); throws the refusal for the caller to write. */
  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer) {
    const match = matchOf(req.url ?? '/')
    if (match === undefined) throw notFound()
    opts.proxy.upgrade(req, socket, head, match, undefined)
  }

  return { handler, upgrade }
}
