import type { RequestHandler } from 'express'
import { checkCookieGuard } from '../authenticate.js'

/**
 * The anti-CSRF header (OAuth 2.0 for Browser-Based Apps, BFF pattern): a cross-site page cannot add a custom header
 * to a request without a CORS preflight, which the broker never grants. For cookie routes that do not run the
 * authentication step (the password login, which starts a session rather than using one).
 */
export function createRequireCsrfHeader(publicUrl: URL): RequestHandler {
  return (req, _res, next) => {
    checkCookieGuard(req, 'csrf-header', publicUrl)
    next()
  }
}
