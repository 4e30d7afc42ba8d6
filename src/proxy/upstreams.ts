import type { ApiRoute } from '../config/types.js'
import { assertSafePath, joinUnderTarget, splitRawTarget } from './path.js'

export interface RouteMatch {
  route: ApiRoute
  /** origin-form request target for the upstream: target path + the rest of the client's path + its raw query */
  upstreamPath: string
}

export interface RouteTable {
  /**
   * Maps a raw request target (`req.originalUrl`, never express's decoded path) onto the API route with the
   * longest matching prefix. Returns undefined when no route matches; throws `invalidRequest` (400) for a
   * hostile path whether or not a route matches, because a decoded form of it might still reach one. Paths under
   * the broker's own base path are the exception: no API route lies there (the config refuses the overlap), they
   * are the broker's own routes, whose parameters are data (`/bff/admin/users/https%3A%2F%2Fidp%2Fu%2F7/sessions`
   * names a user whose sub holds '/'), and they are left to those routes unchecked.
   */
  match(rawTarget: string): RouteMatch | undefined
}

interface Entry {
  prefix: string
  route: ApiRoute
}

const withoutTrailingSlash = (p: string) => (p.length > 1 ? p.replace(/\/+$/, '') : p)

export function createRouteTable(apis: readonly ApiRoute[], opts: { brokerBasePath?: string } = {}): RouteTable {
  const base = opts.brokerBasePath === undefined ? undefined : withoutTrailingSlash(opts.brokerBasePath)
  const brokerOwned = (path: string) => base !== undefined && base !== '/' && (path === base || path.startsWith(`${base}/`))
  // longest prefix first, so /api/orders/admin wins over /api/orders for /api/orders/admin/1
  const entries: Entry[] = apis
    .map((route) => ({ prefix: withoutTrailingSlash(route.path), route }))
    .sort((a, b) => b.prefix.length - a.prefix.length)
  // the config refuses this overlap (rules.ts); a route there would be unreachable, so it is not taken silently
  const hidden = entries.find(({ prefix }) => brokerOwned(prefix))
  if (hidden) throw new Error(`API route ${hidden.prefix} lies under the broker's base path ${base}`)

  return {
    match(rawTarget) {
      const { path, query } = splitRawTarget(rawTarget)
      if (brokerOwned(path)) return undefined
      assertSafePath(path)
      for (const { prefix, route } of entries) {
        // a segment boundary: /api/orders matches /api/orders and /api/orders/42, never /api/ordersX
        const rest = prefix === '/' ? path : path.slice(prefix.length)
        if (!path.startsWith(prefix) || (rest !== '' && !rest.startsWith('/'))) continue
        return { route, upstreamPath: joinUnderTarget(route.target, rest, query) }
      }
      return undefined
    },
  }
}
