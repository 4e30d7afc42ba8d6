import { STATUS_CODES, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import { EventEmitter } from 'node:events'
import net from 'node:net'
import type { Duplex } from 'node:stream'
import tls from 'node:tls'
import { Pool } from 'undici'
import { type BffError, notFound, upstreamTimeout, upstreamUnavailable } from '../http/errors.js'
import { LogEvents } from '../observability/log-events.js'
import type { Logger } from '../observability/logger.js'
import type { RouteMatch } from './upstreams.js'

// The only importer of undici (STYLE.md §2): one keep-alive Pool per upstream origin, driven with pool.stream,
// the fastest pass-through API measured (NOTES.md "Proxying").

export type TrustProxy = boolean | number | string

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
   */
  forward(req: IncomingMessage, res: ServerResponse, match: RouteMatch, token: string | undefined): Promise<void>
  /** Tunnels a WebSocket upgrade to the upstream once the caller checked session and Origin; 502/504 on failure. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, match: RouteMatch, token: string | undefined): void
  /** Lets in-flight requests finish, closes the pools and cuts the open WebSocket tunnels. */
  close(): Promise<void>
}

export function createApiProxy(opts: ApiProxyOptions): ApiProxy {
  const pools = new Map<string, Pool>()
  const tunnels = new Set<Duplex>()
  const cookiePolicy = { reserved: [opts.sessionCookieName, ...(opts.reservedCookieNames ?? [])] }

  const poolFor = (target: URL) => {
    let pool = pools.get(target.origin)
    if (!pool) {
      pool = new Pool(target.origin, { connections: opts.maxConnectionsPerUpstream ?? null })
      pools.set(target.origin, pool)
    }
    return pool
  }

  const upstreamHeaders = (req: IncomingMessage, token: string | undefined, keepUpgrade: boolean) => [
    ...filterRequestHeaders(req.rawHeaders, { csrfHeader: opts.csrfHeader, keepUpgrade }),
    ...forwardedHeaders(forwardedInfo(req, opts.trustProxy, opts.publicUrl)),
    ...(token ? ['authorization', `Bearer ${token}`] : []),
  ]

  const logFailure = (match: RouteMatch, err: unknown, phase: string) =>
    opts.logger.warn(
      { event: LogEvents.proxyUpstreamError, route: match.route.path, phase, err: describe(err) },
      'upstream request failed',
    )

  async function forward(req: IncomingMessage, res: ServerResponse, match: RouteMatch, token: string | undefined) {
    const { route, upstreamPath } = match
    const controller = new ClientGone()
    // before the upstream answers, undici cannot see the client leave: abort it ourselves
    const onClose = () => { if (!res.writableFinished) controller.abort() }
    res.once('close', onClose)
    let responded = false
    try {
      await poolFor(route.target).stream(
        {
          path: upstreamPath,
          method: req.method ?? 'GET',
          headers: upstreamHeaders(req, token, false),
          body: hasBody(req) ? req : null,
          signal: controller,
          // timeoutMs bounds the wait for the response head (refreshed while the upload is being written);
          // the body may take as long as it takes: SSE streams and large downloads are not cut
          headersTimeout: route.timeoutMs,
          bodyTimeout: 0,
        },
        ({ statusCode, headers }) => {
          responded = true
          res.statusCode = statusCode
          for (const [name, value] of filterResponseHeaders(headers, route.passSetCookie, cookiePolicy)) {
            setResponseHeader(res, name, value)
          }
          // a stream of unknown length (server-sent events): send the head now, the client should not wait for the
          // first event to see it; with a known length, head and body go out in one write
          if (headers['content-length'] === undefined) res.flushHeaders()
          return res
        },
      )
    } catch (err) {
      if (controller.aborted || responded || res.headersSent) {
        if (!controller.aborted) logFailure(match, err, 'body')
        res.destroy()
        return
      }
      logFailure(match, err, 'head')
      throw toProxyError(err)
    } finally {
      res.off('close', onClose)
    }
  }

  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, match: RouteMatch, token: string | undefined) {
    const { route, upstreamPath } = match
    // the caller decides which routes tunnel; this only guards against a forgotten check
    if (!route.websocket) return writeRawError(socket, notFound())
    const upstream = connect(route.target)
    let settled = false
    let tunnelled = false
    const fail = (error: BffError, err: unknown) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      logFailure(match, err, 'upgrade')
      writeRawError(socket, error)
      upstream.destroy()
    }
    const timer = setTimeout(() => fail(upstreamTimeout(), new Error('no upgrade response')), route.timeoutMs)
    tunnels.add(socket)
    socket.once('close', () => { tunnels.delete(socket); upstream.destroy() })
    socket.on('error', () => upstream.destroy())
    upstream.on('error', (err) => fail(upstreamUnavailable(), err))
    upstream.once('close', () => (tunnelled ? socket.destroy() : fail(upstreamUnavailable(), new Error('closed early'))))
    upstream.write(requestHead(req.method ?? 'GET', upstreamPath, route.target.host, upstreamHeaders(req, token, true)))
    if (head.length > 0) upstream.write(head)
    readResponseHead(upstream, (responseHead, rest) => {
      if (settled) return
      settled = tunnelled = true
      clearTimeout(timer)
      // from here on the upstream's answer (101 or not) belongs to the client: errors just close both ends
      socket.write(filterRawResponseHead(responseHead, route.passSetCookie, cookiePolicy))
      if (rest.length > 0) socket.write(rest)
      upstream.pipe(socket)
      socket.pipe(upstream)
    })
  }

  async function close() {
    for (const socket of tunnels) socket.destroy()
    await Promise.all([...pools.values()].map((pool) => pool.close()))
    pools.clear()
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

// RFC 9112 §6: a request has a body only when it says so
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length']
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

function setResponseHeader(res: ServerResponse, name: string, value: string | string[]) {
  if (name === 'set-cookie') {
    // keep cookies the broker itself set (express-session appends its own the same way)
    const existing = res.getHeader('set-cookie')
    const mine = existing === undefined ? [] : Array.isArray(existing) ? existing : [String(existing)]
    res.setHeader('set-cookie', [...mine, ...(Array.isArray(value) ? value : [value])])
    return
  }
  // a header the broker already set wins: helmet's nosniff, framing and referrer policies (invariant 12)
  if (!res.hasHeader(name)) res.setHeader(name, value)
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

function connect(target: URL): net.Socket {
  const host = target.hostname.replace(/^\[|\]$/g, '')
  const https = target.protocol === 'https:'
  const port = Number(target.port) || (https ? 443 : 80)
  return https
    ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ALPNProtocols: ['http/1.1'] })
    : net.connect({ host, port })
}

function requestHead(method: string, path: string, host: string, headers: string[]): string {
  let head = `${method} ${path} HTTP/1.1\r\nhost: ${host}\r\n`
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`
  return head + '\r\n'
}

const maxResponseHead = 64 * 1024

/** Collects the upstream's response head (up to the blank line) so Set-Cookie can be filtered from it. */
function readResponseHead(upstream: net.Socket, done: (head: string, rest: Buffer) => void) {
  let buffered = Buffer.alloc(0)
  const onData = (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk])
    const end = buffered.indexOf('\r\n\r\n')
    if (end === -1) {
      if (buffered.length > maxResponseHead) upstream.destroy(new Error('upgrade response head too large'))
      return
    }
    upstream.off('data', onData)
    upstream.pause()
    done(buffered.subarray(0, end).toString('latin1'), buffered.subarray(end + 4))
  }
  upstream.on('data', onData)
}

function writeRawError(socket: Duplex, error: BffError) {
  if (socket.destroyed) return
  const body = JSON.stringify({ error: error.code, message: error.message })
  socket.end(
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\r\n` +
      'content-type: application/json; charset=utf-8\r\ncache-control: no-store\r\n' +
      'x-content-type-options: nosniff\r\nconnection: close\r\n' +
      `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  )
}

// ---- header policy: pure functions, unit-tested ----

// RFC 9110 §7.6.1 hop-by-hop fields, plus the legacy Proxy-Connection
const hopByHop = ['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-connection']
// never forwarded: the browser's credentials, the broker's own headers, what the broker sets itself
const requestDrop = new Set([
  ...hopByHop, 'host', 'cookie', 'authorization', 'proxy-authorization', 'expect', 'http2-settings',
  'forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-real-ip',
])
// the broker's origin policy is its own: an upstream cannot grant CORS or re-authenticate a proxy
const responseDrop = new Set([...hopByHop, 'proxy-authenticate', 'proxy-authentication-info'])

/** The names a Connection header lists are hop-by-hop too (RFC 9110 §7.6.1). */
function connectionListed(values: Iterable<string>): Set<string> {
  const names = new Set<string>()
  for (const value of values) {
    for (const name of value.split(',')) if (name.trim()) names.add(name.trim().toLowerCase())
  }
  return names
}

/**
 * Request headers for the upstream as a flat [name, value, …] list (duplicates kept): without Cookie, the CSRF
 * header, the client's Authorization, hop-by-hop and Connection-listed headers, Host, and the client's
 * X-Forwarded-For/-Proto/-Host, Forwarded and X-Real-IP (forwardedHeaders sets the broker's). A WebSocket
 * upgrade keeps what it needs: `Connection: Upgrade` and `Upgrade`.
 */
export function filterRequestHeaders(
  rawHeaders: readonly string[],
  policy: { csrfHeader: string; keepUpgrade: boolean },
): string[] {
  // hot path: one pass to find Connection-listed names, one to copy, no intermediate arrays
  const connectionValues: string[] = []
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string
    if (name.length === 10 && name.toLowerCase() === 'connection') connectionValues.push(rawHeaders[i + 1] as string)
  }
  const listed = connectionListed(connectionValues)
  const out: string[] = policy.keepUpgrade ? ['connection', 'Upgrade'] : []
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string
    const value = rawHeaders[i + 1] as string
    const lower = name.toLowerCase()
    const upgradeHeader = policy.keepUpgrade && lower === 'upgrade'
    if (!upgradeHeader && (requestDrop.has(lower) || lower === policy.csrfHeader || listed.has(lower))) continue
    out.push(name, value)
  }
  return out
}

export interface CookiePolicy {
  /** cookie names an upstream may never set, compared without __Host-/__Secure- prefixes and case */
  reserved: readonly string[]
}

const bareCookieName = (name: string) => name.trim().replace(/^__(host|secure)-/i, '').toLowerCase()

/**
 * Whether a Set-Cookie line would set one of the broker's cookies. A nameless cookie (`=bff-session=x` or no
 * '=' at all) counts too: browsers send its value bare, which reads back as `bff-session=x`.
 */
export function isReservedCookie(setCookie: string, policy: CookiePolicy): boolean {
  const pair = setCookie.split(';', 1)[0] ?? ''
  const eq = pair.indexOf('=')
  if (eq <= 0 || pair.slice(0, eq).trim() === '') return true
  const name = bareCookieName(pair.slice(0, eq))
  return policy.reserved.some((reserved) => bareCookieName(reserved) === name)
}

/**
 * Response headers for the client: without hop-by-hop and Connection-listed headers, the upstream's CORS grants,
 * and Set-Cookie unless the route passes cookies, even then never one of the broker's cookies.
 */
export function filterResponseHeaders(
  headers: IncomingHttpHeaders,
  passSetCookie: boolean,
  policy: CookiePolicy,
): Array<[string, string | string[]]> {
  const connection = headers.connection
  const listed = connectionListed(connection === undefined ? [] : typeof connection === 'string' ? [connection] : connection)
  const out: Array<[string, string | string[]]> = []
  for (const name in headers) {
    // undici and node hand response header names over in lower case already
    const value = headers[name]
    if (value === undefined || responseDrop.has(name) || listed.has(name) || name.startsWith('access-control-')) {
      continue
    }
    if (name === 'set-cookie') {
      const kept = passSetCookie ? [value].flat().filter((line) => !isReservedCookie(line, policy)) : []
      if (kept.length > 0) out.push([name, kept])
      continue
    }
    out.push([name, value])
  }
  return out
}

/** The same Set-Cookie and CORS rules for a raw upgrade response head; Connection/Upgrade stay (101 needs them). */
export function filterRawResponseHead(head: string, passSetCookie: boolean, policy: CookiePolicy): string {
  const [statusLine = '', ...lines] = head.split('\r\n')
  const kept = lines.filter((line) => {
    const name = line.slice(0, line.indexOf(':')).trim().toLowerCase()
    if (name.startsWith('access-control-')) return false
    if (name !== 'set-cookie') return true
    return passSetCookie && !isReservedCookie(line.slice(line.indexOf(':') + 1), policy)
  })
  return [statusLine, ...kept].join('\r\n') + '\r\n\r\n'
}

export interface ForwardedInfo {
  /** client first, the address the broker's socket saw last */
  chain: string[]
  proto: 'http' | 'https'
  host: string | undefined
}

interface ExpressLike {
  ips: string[]
  protocol: string
  host: string | undefined
}

const isExpressRequest = (req: IncomingMessage): req is IncomingMessage & ExpressLike =>
  'app' in req && Array.isArray((req as Partial<ExpressLike>).ips)
const trusting = (trust: TrustProxy) => trust !== false && trust !== 0 && trust !== ''
const firstValue = (v: string | string[] | undefined) => [v ?? ''].flat()[0]?.split(',')[0]?.trim() || undefined
const asProto = (p: string | undefined): 'http' | 'https' | undefined =>
  p === 'http' || p === 'https' ? p : undefined
const safeHost = (h: string | undefined) => (h && /^[a-z0-9.\-:[\]]+$/i.test(h) ? h : undefined)

/**
 * Who the request came from, as X-Forwarded-* and Forwarded will tell the upstream (DESIGN.md invariant 13).
 * - trustProxy false/0: every client value is ignored: the chain is the socket's peer, proto and host come from
 *   publicUrl (else the socket's TLS state and the Host header).
 * - otherwise, for an express request: express's own `trust proxy` semantics (req.ips, req.protocol, req.host),
 *   so numbers (hop counts) and subnet lists mean what they mean to express; the app must be given the same value.
 * - otherwise, for a raw request (an upgrade before express): `true` trusts the whole X-Forwarded-For chain, a
 *   number n its last n entries; a subnet list trusts nothing (no trust function without express).
 */
export function forwardedInfo(req: IncomingMessage, trustProxy: TrustProxy, publicUrl?: URL): ForwardedInfo {
  const peer = req.socket.remoteAddress ?? 'unknown'
  const own = {
    proto: asProto(publicUrl?.protocol.slice(0, -1)) ?? ('encrypted' in req.socket ? 'https' : 'http'),
    host: safeHost(publicUrl?.host ?? req.headers.host),
  } as const
  if (!trusting(trustProxy) || (typeof trustProxy === 'string' && !isExpressRequest(req))) {
    return { chain: [peer], ...own }
  }
  if (isExpressRequest(req)) {
    return { chain: [...req.ips, peer], proto: asProto(req.protocol) ?? own.proto, host: safeHost(req.host) ?? own.host }
  }
  const incoming = [req.headers['x-forwarded-for'] ?? ''].flat().join(',').split(',').map((a) => a.trim()).filter(Boolean)
  const trusted = trustProxy === true ? incoming : incoming.slice(-Number(trustProxy))
  return {
    chain: [...trusted, peer],
    proto: asProto(firstValue(req.headers['x-forwarded-proto'])) ?? own.proto,
    host: safeHost(firstValue(req.headers['x-forwarded-host'])) ?? own.host,
  }
}

/** X-Forwarded-For/-Proto/-Host and an RFC 7239 Forwarded built from the same facts, as a flat header list. */
export function forwardedHeaders(info: ForwardedInfo): string[] {
  // anything that is not an address becomes 'unknown' so a trusted chain cannot smuggle header syntax
  const chain = info.chain.map((a) => (net.isIP(a) ? a : 'unknown'))
  const node = (a: string) => (net.isIPv6(a) ? `"[${a}]"` : a)
  const last = `for=${node(chain.at(-1) ?? 'unknown')};proto=${info.proto}${info.host ? `;host="${info.host}"` : ''}`
  const forwarded = [...chain.slice(0, -1).map((a) => `for=${node(a)}`), last].join(', ')
  return [
    'x-forwarded-for', chain.join(', '),
    'x-forwarded-proto', info.proto,
    ...(info.host ? ['x-forwarded-host', info.host] : []),
    'forwarded', forwarded,
  ]
}
