import type { IncomingHttpHeaders } from 'node:http'
import type { ApiRoute } from '../config/types.js'

// What the broker changes in a proxied answer's head, beyond dropping headers (headers.ts): the upstream's own
// address in Location, and cacheability. Pure and precomputed per route, so the hot path only looks two names up.

export interface AnswerPolicy {
  /** the route's target origin and path (no trailing slash; '' at the root): a Location under it is rewritten */
  targetOrigin: string
  targetPath: string
  /** the broker's public origin ('' when unknown: the rewritten Location is then path-absolute) */
  publicOrigin: string
  /** the route's path prefix on the broker (no trailing slash; '' at the root) */
  publicPath: string
  /**
   * The answer depends on who calls: Cache-Control: private when the upstream set none, and Vary: Cookie (RFC 9111
   * §5.2.2.7, RFC 9110 §12.5.5), so no shared cache hands one user's answer to another. Off only for anonymous
   * routes whose token is `client` or `none`: their answer is the same for every caller.
   */
  private: boolean
}

const trimSlash = (path: string) => path.replace(/\/+$/, '')

export function answerPolicyFor(route: ApiRoute, publicUrl: URL | undefined): AnswerPolicy {
  return {
    targetOrigin: route.target.origin,
    targetPath: trimSlash(route.target.pathname),
    publicOrigin: publicUrl?.origin ?? '',
    publicPath: trimSlash(route.path),
    private: !(route.anonymous && (route.token === 'client' || route.token === 'none')),
  }
}

/**
 * An upstream redirect that names its own (internal) address, absolute (`http://orders.internal:8080/v1/x`) or
 * path-absolute (`/v1/x`), points at the same resource through the broker: public origin + route prefix + the rest
 * (RFC 9110 §10.2.2). Anything else is left alone: other origins, paths outside the target, and relative references
 * without a leading '/', which resolve against the broker's URL as they would against the upstream's.
 */
export function rewriteLocation(location: string, policy: AnswerPolicy): string {
  const pathAbsolute = location.startsWith('/') && !location.startsWith('//')
  if (!pathAbsolute && !/^[a-z][a-z0-9+.-]*:|^\/\//i.test(location)) return location
  let url: URL
  try {
    // resolved against the target, so dot-segments are gone before the "under the target" check
    url = new URL(location, policy.targetOrigin)
  } catch {
    return location
  }
  if (url.origin !== policy.targetOrigin) return location
  const { targetPath } = policy
  const under = url.pathname === targetPath || url.pathname.startsWith(`${targetPath}/`)
  if (!under) return location
  const path = policy.publicPath + url.pathname.slice(targetPath.length) || '/'
  const origin = pathAbsolute ? '' : policy.publicOrigin
  return `${origin}${path}${url.search}${url.hash}`
}

/** `Vary` with Cookie added (kept when it already names Cookie or is `*`). */
export function varyWithCookie(vary: string | string[] | undefined): string {
  if (vary === undefined) return 'Cookie'
  const value = Array.isArray(vary) ? vary.join(', ') : vary
  const names = value.split(',').map((name) => name.trim().toLowerCase())
  if (names.includes('cookie') || names.includes('*')) return value
  return value.trim() === '' ? 'Cookie' : `${value}, Cookie`
}

/** What the policy writes to: a ServerResponse (or a recorder in unit tests). */
export interface HeaderSink {
  setHeader(name: string, value: string): unknown
}

/**
 * Sets the policy's headers over the upstream's (already copied to `res`). Most answers have no Location, and the
 * Vary of most is absent: then nothing is built per request, the values are constants.
 */
export function applyAnswerHeaders(res: HeaderSink, headers: IncomingHttpHeaders, policy: AnswerPolicy): void {
  const location = headers.location
  if (location !== undefined) res.setHeader('location', rewriteLocation(location, policy))
  if (!policy.private) return
  if (headers['cache-control'] === undefined) res.setHeader('cache-control', 'private')
  res.setHeader('vary', varyWithCookie(headers.vary))
}

/** Headers the broker writes into an answer's head before the upstream's; an upstream header of one of these names is dropped. */
export interface OwnHeaders {
  /** flat: name, value, name, value… */
  readonly list: ReadonlyArray<string | string[]>
  /** the names they win for, in lower case (never set-cookie: the upstream's cookies are filtered by their own rules) */
  readonly names: ReadonlySet<string>
}

/**
 * The whole head of a proxied answer, flat (name, value, …) for one `writeHead`: the broker's own headers first
 * (they win: invariant 12), then the upstream's `kept` ones (filterResponseHeaders), then the policy's, which replace
 * the upstream's Location and Vary. One array, no per-header `setHeader` (the hot path's answer head). Each name
 * appears once, Set-Cookie included (the broker's cookies, then the upstream's kept ones), since `writeHead` over
 * headers already set on the response keeps only the last entry of a name.
 */
export function answerHead(
  upstream: IncomingHttpHeaders,
  kept: ReadonlyArray<readonly [string, string | string[]]>,
  policy: AnswerPolicy,
  own: OwnHeaders,
): Array<string | string[]> {
  const out = own.list.slice()
  for (const [name, value] of kept) {
    if (own.names.has(name) || name === 'location' || (policy.private && name === 'vary')) continue
    // the broker's own cookies and the upstream's kept ones: one entry, so that no spelling of writeHead drops either
    const cookies = name === 'set-cookie' ? out.findIndex((n, i) => i % 2 === 0 && String(n).toLowerCase() === 'set-cookie') : -1
    if (cookies >= 0) out[cookies + 1] = [out[cookies + 1] ?? [], value].flat()
    else out.push(name, value)
  }
  applyAnswerHeaders({ setHeader: (name: string, value: string) => out.push(name, value) }, upstream, policy)
  return out
}
