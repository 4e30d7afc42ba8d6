import type { IncomingMessage, ServerResponse } from 'node:http'
import { EventEmitter } from 'node:events'
import type { Duplex } from 'node:stream'
import { Pool } from 'undici'
import { type BffError, requestTimeout, upstreamTimeout, upstreamUnavailable } from '../errors.js'
import { LogEvents } from '../observability/log-events.js'
import { noteFailure, writeUpgradeRefusal } from '../http/errors.js'
import type { Logger } from '../observability/logger.js'
import {
  filterRequestHeaders,
  filterResponseHeaders,
  hasBody,
  type TrustProxy,
  upstreamForwardingHeaders,
} from './headers.js'
import type { RouteMatch } from './upstreams.js'
import { answerHead, answerPolicyFor, type AnswerPolicy, type OwnHeaders } from './answer-headers.js'
import type { ApiRoute } from '../config/types.js'
import { createWebSocketTunnel } from './websocket-tunnel.js'
import { watchUpload } from './upload-watch.js'
import { activeTracer, endClientSpan, failSpan, startClientSpan, traceHeaders } from '../observability/spans.js'

// The only importer of undici (docs/architecture.md "Layers"): one keep-alive Pool per upstream origin, driven with
// pool.stream,
// the fastest pass-through API measured (docs/architecture.md "Dependency notes").

export interface ApiProxyOptions {
  logger: Logger
  /** config.trustProxy, the same value the app gives express's `trust proxy`; see forwardedInfo */
  trustProxy: TrustProxy
  sessionCookieName: string
  csrfHeader: 'x-csrf'
  /** the broker's external origin: X-Forwarded-Proto/-Host when no proxy is trusted (else socket and Host) */
  publicUrl?: URL
  /** further cookie names an upstream may never set (the login-state cookie…); the session cookie never is */
  reservedCookieNames?: readonly string[]
  /** undici Pool `connections`; unbounded by default because every SSE stream or download holds one */
  maxConnectionsPerUpstream?: number
}

export interface ApiProxy {
  /**
   * Streams `req` to the matched upstream and the answer back, status and body unchanged. Rejects with a
   * BffError (502, 504) only while nothing was sent, for the caller's error handler to write; a failure after
   * the response started destroys the client socket; a client that goes away aborts the upstream request.
   *
   * The answer's head is written in one `writeHead`: `own` first (the broker's headers for it, which win over the
   * upstream's of the same name), then the upstream's and the answer policy's. Without `own`, the headers already set
   * on `res` (an express route's) take that place.
   */
  forward(req: IncomingMessage, res: ServerResponse, match: RouteMatch, token: string | undefined, own?: OwnHeaders): Promise<void>
  /** Tunnels a WebSocket upgrade to the upstream once the caller checked session and Origin; 502/504 on failure. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, match: RouteMatch, token: string | undefined): void
  /** Lets in-flight requests finish, closes the pools and cuts the open WebSocket tunnels. */
  close(): Promise<void>
}

export function createApiProxy(opts: ApiProxyOptions): ApiProxy {
  const pools = new Map<string, Pool>()
  const cookiePolicy = { reserved: [opts.sessionCookieName, ...(opts.reservedCookieNames ?? [])] }
  // one answer policy per route, built on its first answer (routes are config: a fixed, small set)
  const answerPolicies = new Map<ApiRoute, AnswerPolicy>()
  const answerPolicy = (route: ApiRoute) => {
    let policy = answerPolicies.get(route)
    if (!policy) {
      policy = answerPolicyFor(route, opts.publicUrl)
      answerPolicies.set(route, policy)
    }
    return policy
  }

  // by the route's target object first (URL#origin builds a new string on every read), then by origin: routes to
  // one origin share a pool
  const poolOfTarget = new Map<URL, Pool>()
  const poolFor = (target: URL) => {
    let pool = poolOfTarget.get(target)
    if (pool) return pool
    pool = pools.get(target.origin)
    if (!pool) {
      pool = new Pool(target.origin, { connections: opts.maxConnectionsPerUpstream ?? null })
      pools.set(target.origin, pool)
    }
    poolOfTarget.set(target, pool)
    return pool
  }

  const policies = { plain: { csrfHeader: opts.csrfHeader, keepUpgrade: false }, upgrade: { csrfHeader: opts.csrfHeader, keepUpgrade: true } }
  const upstreamHeaders = (req: IncomingMessage, token: string | undefined, keepUpgrade: boolean) => {
    const headers = filterRequestHeaders(req.rawHeaders, keepUpgrade ? policies.upgrade : policies.plain)
    headers.push(...upstreamForwardingHeaders(req, opts.trustProxy, opts.publicUrl))
    if (token) headers.push('authorization', `Bearer ${token}`)
    return headers
  }

  const failure = (match: RouteMatch, err: unknown, phase: string) =>
    ({ event: LogEvents.proxyUpstreamError, route: match.route.path, phase, err: describe(err) }) as const
  // after the answer started nobody writes an error, so the proxy logs it; before, the error writer does (once)
  const logFailure = (match: RouteMatch, err: unknown, phase: string) =>
    opts.logger.warn(failure(match, err, phase), 'upstream request failed')

  // tracing on: a client span per upstream call, its traceparent sent along (W3C Trace Context §3.2)
  const tracer = activeTracer()
  const upstreamSpan = (req: IncomingMessage, { route }: RouteMatch) => {
    const method = req.method ?? 'GET'
    return tracer && startClientSpan(tracer, `${method} ${route.path}`, route.target, method, { 'bff.api.route': route.path })
  }

  const tunnel = createWebSocketTunnel({
    cookiePolicy,
    refuse(req, socket, match, error, cause) {
      if (cause !== undefined) noteFailure(req, failure(match, cause, 'upgrade'))
      writeUpgradeRefusal(req, socket, error, opts)
    },
  })

  async function forward(req: IncomingMessage, res: ServerResponse, match: RouteMatch, token: string | undefined, own?: OwnHeaders) {
    const { route, upstreamPath } = match
    const controller = new ClientGone()
    // before the upstream answers, undici cannot see the client leave: abort it ourselves
    const onClose = () => { if (!res.writableFinished) controller.abort() }
    res.once('close', onClose)
    let responded = false
    let stalled = false
    let status: number | undefined
    const span = upstreamSpan(req, match)
    const headers = upstreamHeaders(req, token, false)
    if (span) headers.push(...traceHeaders(span))
    const body = hasBody(req) ? req : null
    const stopWatch = body && !req.complete
      ? watchUpload(req, route.timeoutMs, () => { stalled = true; controller.abort() })
      : undefined
    try {
      await poolFor(route.target).stream(
        {
          path: upstreamPath,
          method: req.method ?? 'GET',
          headers,
          body,
          signal: controller,
          // timeoutMs bounds the wait for the response head (refreshed while the upload is being written) and,
          // through watchUpload, an upload that stops moving; the response body may take as long as it takes:
          // SSE streams and large downloads are not cut
          headersTimeout: route.timeoutMs,
          bodyTimeout: 0,
        },
        ({ statusCode, headers }) => {
          const kept = filterResponseHeaders(headers, route.passSetCookie, cookiePolicy)
          // should node refuse a header value, nothing was sent: the caller writes a 502 (so `responded` comes after)
          res.writeHead(statusCode, answerHead(headers, kept, answerPolicy(route), own ?? alreadySet(res)))
          responded = true
          status = statusCode
          // a stream of unknown length (server-sent events): send the head now, the client should not wait for the
          // first event to see it; with a known length, head and body go out in one write
          if (headers['content-length'] === undefined) res.flushHeaders()
          return res
        },
      )
    } catch (err) {
      if (span) failSpan(span, stalled ? { code: 'upload_stalled' } : controller.aborted ? { code: 'client_gone' } : err)
      if (stalled) return uploadStalled(req, res, match, route.timeoutMs)
      if (controller.aborted || responded || res.headersSent) {
        if (!controller.aborted) logFailure(match, err, 'body')
        res.destroy()
        return
      }
      noteFailure(req, failure(match, err, 'head'))
      throw toProxyError(err)
    } finally {
      res.off('close', onClose)
      stopWatch?.()
      if (span) endClientSpan(span, status)
    }
  }

  function uploadStalled(req: IncomingMessage, res: ServerResponse, match: RouteMatch, idleMs: number): void {
    const note = { event: LogEvents.proxyUploadStalled, route: match.route.path, idleMs } as const
    if (res.headersSent) {
      opts.logger.warn(note, 'client upload stopped moving: request cut')
      res.destroy()
      return
    }
    noteFailure(req, note)
    // the client's connection holds the rest of a body nobody will read: close it after the 408
    res.setHeader('Connection', 'close')
    throw requestTimeout({ message: 'The request body stopped arriving.', detail: `upload idle for ${idleMs} ms` })
  }

  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, match: RouteMatch, token: string | undefined) {
    tunnel.open(req, socket, head, match, upstreamHeaders(req, token, true))
  }

  async function close() {
    tunnel.closeAll()
    await Promise.all([...pools.values()].map((pool) => pool.close()))
    pools.clear()
    poolOfTarget.clear()
  }

  return { forward, upgrade, close }
}

/**
 * undici's abort signal for a request whose client went away. An EventEmitter, which undici accepts as a signal:
 * an AbortController (an EventTarget) per proxied request costs measurably more on the hot path.
 */
class ClientGone extends EventEmitter {
  aborted = false
  abort() {
    if (this.aborted) return
    this.aborted = true
    this.emit('abort')
  }
}

/**
 * The headers already set on `res` (an express route's: the security middleware's, a dev server page's CSP). They
 * stay where they are and win over the upstream's of the same name; only Set-Cookie goes into the head's list, so
 * that the one Set-Cookie entry holds the broker's cookies and then the upstream's kept ones (`writeHead` over set
 * headers replaces every name it is given).
 */
function alreadySet(res: ServerResponse): OwnHeaders {
  const names = new Set(res.getHeaderNames())
  names.delete('set-cookie')
  const cookies = res.getHeader('set-cookie')
  return { list: cookies === undefined ? [] : ['set-cookie', [cookies].flat().map(String)], names }
}

const timeoutCodes = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT'])

function toProxyError(err: unknown): BffError {
  const code = (err as { code?: unknown } | null)?.code
  const detail = typeof code === 'string' ? code : describe(err).message
  return typeof code === 'string' && timeoutCodes.has(code)
    ? upstreamTimeout({ detail, cause: err })
    : upstreamUnavailable({ detail, cause: err })
}

function describe(err: unknown): { name: string; message: string; code?: string } {
  const e = err as { name?: unknown; message?: unknown; code?: unknown } | null
  return {
    name: typeof e?.name === 'string' ? e.name : 'Error',
    message: typeof e?.message === 'string' ? e.message : String(err),
    ...(typeof e?.code === 'string' ? { code: e.code } : {}),
  }
}
