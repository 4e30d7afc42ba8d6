import helmet from 'helmet'
import type { RequestHandler } from 'express'

/**
 * DESIGN.md invariant 12: nosniff, no referrer (the callback URL holds a code), framing refused, HSTS on https.
 * The broker serves JSON and small error pages, so the CSP denies everything but what those need; pages that need
 * more (the demo page) set their own policy.
 */
export function securityHeaders(opts: { https: boolean }): RequestHandler {
  return helmet({
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
  })
}
