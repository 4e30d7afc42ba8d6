import type { RequestHandler } from 'express'
import { csrfFailed } from '../../errors.js'

/**
 * The anti-CSRF header (OAuth 2.0 for Browser-Based Apps, BFF pattern): a cross-site page cannot add a custom header
 * to a request without a CORS preflight, which the broker never grants. Cookie sessions need `X-CSRF: 1`.
 */
export const requireCsrfHeader: RequestHandler = (req, _res, next) => {
  if (req.get('x-csrf') === '1') return next()
  next(csrfFailed())
}
