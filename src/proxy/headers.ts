import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import net from 'node:net'
import proxyaddr from 'proxy-addr'

// The proxy's header policy, kept pure so it is unit-tested without sockets.

export type TrustProxy = boolean | number | string

// RFC 9110 §7.6.1 hop-by-hop fields, plus the legacy Proxy-Connection
const hopByHop = ['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-connection']
// never forwarded: the browser's credentials, the broker's own headers, what the broker sets itself
const requestDrop = new Set([
  ...hopByHop, 'host', 'cookie', 'authorization', 'proxy-authorization', 'expect', 'http2-settings',
  // a mobile app's DPoP proof (RFC 9449) is for the broker, like its handle; X-On-Behalf-Of names a job's user
  'dpop', 'x-on-behalf-of',
  'forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-real-ip',
  // W3C Trace Context: a client's trace ids are not trusted (observability/spans.ts); with tracing on the broker
  // sends its own traceparent
  'traceparent', 'tracestate',
])
// the broker's origin policy is its own: an upstream cannot grant CORS or re-authenticate a proxy
const responseDrop = new Set([...hopByHop, 'proxy-authenticate', 'proxy-authentication-info'])

/** RFC 9112 §6: a request has a body only when it says so. */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length']
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

const noNames: ReadonlySet<string> = new Set()
// the one value nearly every message carries; what it lists is hop-by-hop already
const keepAliveOnly: ReadonlySet<string> = new Set(['keep-alive'])

/** The names a Connection header lists are hop-by-hop too (RFC 9110 §7.6.1). Read only: some sets are shared. */
function connectionListed(values: readonly string[]): ReadonlySet<string> {
  if (values.length === 0) return noNames
  if (values.length === 1 && (values[0] === 'keep-alive' || values[0] === 'Keep-Alive')) return keepAliveOnly
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
  /** cookie names (and `<name>.*`) an upstream may never set, compared without __Host-/__Secure- prefixes and case */
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
  // `<name>.<suffix>` too: the broker's per-login cookies are named so (http/login-cookies.ts)
  return policy.reserved.some((reserved) => name === bareCookieName(reserved) || name.startsWith(`${bareCookieName(reserved)}.`))
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

/** Whether the hop at `hop` (0: the broker's socket peer) may speak for the client: proxy-addr's trust function. */
export type TrustFn = (address: string, hop: number) => boolean

const trustNone: TrustFn = () => false
const trustAll: TrustFn = () => true

/**
 * config.trustProxy as a trust function, compiled the way express compiles its `trust proxy` setting (express 5
 * lib/utils.js compileTrust): `true` every hop, a number that many hops, a subnet list (array or comma string of
 * addresses, CIDR ranges and proxy-addr's names loopback, linklocal, uniquelocal) those peers.
 */
export function compileTrust(trustProxy: TrustProxy): TrustFn {
  if (trustProxy === true) return trustAll
  if (trustProxy === false || trustProxy === 0 || trustProxy === '') return trustNone
  if (typeof trustProxy === 'number') return (_address, hop) => hop < trustProxy
  return proxyaddr.compile(trustProxy.split(',').map((entry) => entry.trim()))
}

// one compiled function per trustProxy value (a config has one; compiling a subnet list per request would cost)
const compiled = new Map<TrustProxy, TrustFn>()
const trustOf = (trustProxy: TrustProxy): TrustFn => {
  let trust = compiled.get(trustProxy)
  if (!trust) compiled.set(trustProxy, (trust = compileTrust(trustProxy)))
  return trust
}

const firstValue = (v: string | string[] | undefined) => [v ?? ''].flat()[0]?.split(',')[0]?.trim() || undefined
const asProto = (p: string | undefined): 'http' | 'https' | undefined =>
  p === 'http' || p === 'https' ? p : undefined
const safeHost = (h: string | undefined) => (h && /^[a-z0-9.\-:[\]]+$/i.test(h) ? h : undefined)

/**
 * Who the request came from, as X-Forwarded-* and Forwarded will tell the upstream (docs/architecture.md invariant 13),
 * with the rules express applies to req.ips, req.protocol and req.host, for every request (API routes, upgrades,
 * express routes alike):
 * - the chain is proxy-addr's: X-Forwarded-For read from the right, kept up to the first hop trustProxy does not
 *   trust, the socket's peer last;
 * - X-Forwarded-Proto and -Host count only when the peer itself is trusted; else proto and host come from publicUrl
 *   (else the socket's TLS state and the Host header).
 */
export function forwardedInfo(req: IncomingMessage, trustProxy: TrustProxy, publicUrl?: URL): ForwardedInfo {
  const own = {
    proto: asProto(publicUrl?.protocol.slice(0, -1)) ?? ('encrypted' in req.socket ? 'https' : 'http'),
    host: safeHost(publicUrl?.host ?? req.headers.host),
  } as const
  const peer = req.socket.remoteAddress
  // a socket already gone has no address: nothing it forwarded can be trusted
  if (peer === undefined) return { chain: ['unknown'], ...own }
  const trust = trustOf(trustProxy)
  const chain = proxyaddr.all(req, trust).reverse()
  if (!trust(peer, 0)) return { chain, ...own }
  return {
    chain,
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

// A peer the broker does not trust speaks for no one: its requests' forwarding headers depend only on that peer, the
// socket's TLS state, the Host header and publicUrl, so the requests of one keep-alive connection share them
const untrustedPeerHeaders = new WeakMap<object, { host: string | undefined; publicUrl: URL | undefined; headers: readonly string[] }>()

/**
 * forwardedHeaders(forwardedInfo(…)) for the upstream request, built once per connection while its peer is not
 * trusted and its Host header stays the same; a trusted peer's X-Forwarded-* are read anew on every request.
 */
export function upstreamForwardingHeaders(req: IncomingMessage, trustProxy: TrustProxy, publicUrl?: URL): readonly string[] {
  const peer = req.socket.remoteAddress
  if (peer === undefined || trustOf(trustProxy)(peer, 0)) return forwardedHeaders(forwardedInfo(req, trustProxy, publicUrl))
  const host = req.headers.host
  const known = untrustedPeerHeaders.get(req.socket)
  if (known && known.host === host && known.publicUrl === publicUrl) return known.headers
  const headers = forwardedHeaders(forwardedInfo(req, trustProxy, publicUrl))
  untrustedPeerHeaders.set(req.socket, { host, publicUrl, headers })
  return headers
}
