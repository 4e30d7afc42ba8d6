import type { ErrorRequestHandler, RequestHandler } from 'express'
import { requestTimeout } from '../../errors.js'
import { hasBody } from '../../proxy/headers.js'

/**
 * The whole body of a request to a broker route must arrive within `timeoutMs` of its headers. The server's own
 * `requestTimeout` cannot say so (it would also cut long uploads to the APIs), so this runs per request: past
 * the deadline the answer is 408 (RFC 9110 §15.5.9) through the one error handler, with `Connection: close`, so
 * the connection ends once the answer is out instead of waiting on a client that trickles a byte at a time.
 */
export function createBodyDeadline(deps: { timeoutMs: number; errorHandler: ErrorRequestHandler }): RequestHandler {
  return (req, res, next) => {
    if (req.complete || !hasBody(req)) return next()
    const timer = setTimeout(() => {
      if (req.complete || res.writableEnded) return
      if (!res.headersSent) res.setHeader('Connection', 'close')
      const error = requestTimeout({ detail: `request body not complete after ${deps.timeoutMs} ms` })
      deps.errorHandler(error, req, res, () => {})
    }, deps.timeoutMs)
    res.once('close', () => clearTimeout(timer))
    next()
  }
}
