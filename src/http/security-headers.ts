import helmet from 'helmet'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { RequestHandler } from 'express'
import type { OwnHeaders } from '../proxy/answer-headers.js'

export interface SecurityHeaders {
  /** the headers an API route's answer gets (the API fast path, which runs without express): its errors… */
  applyApi(res: ServerResponse): void
  /** …and, the same ones, at the head of a proxied answer (api-proxy.ts writes them with the upstream's) */
  api: OwnHeaders
  middleware: RequestHandler
}

/**
 * docs/architecture.md invariant 12: nosniff, no referrer (the callback URL holds a code), framing refused, HSTS on
 * https.
 * The broker serves JSON and small error pages, so the CSP denies everything but what those need; pages that need
 * more (the demo page) set their own policy. helmet's headers do not depend on the request: they are computed once
 * and then copied onto every response, which keeps helmet's choices without its per-request work.
 */
export function createSecurityHeaders(opts: { https: boolean }): SecurityHeaders {
  const headers = computeOnce(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'none'"],
          baseUri: ["'none'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
        },
      },
      referrerPolicy: { policy: 'no-referrer' },
      frameguard: { action: 'deny' },
      hsts: opts.https ? { maxAge: 31_536_000, includeSubDomains: true } : false,
      crossOriginResourcePolicy: { policy: 'same-origin' },
      crossOriginOpenerPolicy: { policy: 'same-origin' },
      xContentTypeOptions: true,
    }),
  )
  // An API answer is data, never a document: the headers that matter for it are invariant 12's (nosniff, referrer,
  // framing, HSTS, a CSP) and CORP (no cross-origin no-cors reads); the rest of helmet's set is for HTML pages.
  const apiHeaders = headers.filter(([name]) => apiHeaderNames.has(name.toLowerCase()))
  const set = (list: typeof headers) => (res: ServerResponse) => {
    for (const [name, value] of list) res.setHeader(name, value)
  }
  const apply = set(headers)
  return {
    applyApi: set(apiHeaders),
    api: {
      list: apiHeaders.flatMap(([name, value]) => [name, typeof value === 'string' ? value : Array.isArray(value) ? [...value] : String(value)]),
      names: new Set(apiHeaders.map(([name]) => name.toLowerCase())),
    },
    middleware(_req, res, next) {
      apply(res)
      next()
    },
  }
}

const apiHeaderNames = new Set([
  'content-security-policy', 'cross-origin-resource-policy', 'referrer-policy', 'strict-transport-security',
  'x-content-type-options', 'x-frame-options',
])

function computeOnce(middleware: (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void) {
  const headers: Array<[string, string | number | readonly string[]]> = []
  const recorder = {
    setHeader: (name: string, value: string | number | readonly string[]) => headers.push([name, value]),
    removeHeader: () => undefined,
  } as unknown as ServerResponse
  let failed: unknown
  middleware({ headers: {} } as IncomingMessage, recorder, (err) => (failed = err))
  if (failed || headers.length === 0) throw new Error('security headers could not be computed')
  return headers
}
