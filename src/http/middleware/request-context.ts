import type { RequestHandler } from 'express'
import type { Logger } from '../../observability/logger.js'
import type { Metrics } from '../../observability/metrics.js'
import { LogEvents } from '../../observability/log-events.js'

/**
 * Times every request, counts it by route, and logs one line per request: method, path and status, never the
 * query string (the callback's holds an authorization code) and never a header.
 */
export function createRequestContext(deps: {
  logger: Logger
  metrics: Metrics
  routeOf: (path: string) => string
}): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint()
    res.once('finish', () => {
      const route = deps.routeOf(req.path)
      const seconds = Number(process.hrtime.bigint() - started) / 1e9
      deps.metrics.requests.inc({ route, method: req.method, status: String(res.statusCode) })
      deps.metrics.requestSeconds.observe({ route, method: req.method }, seconds)
      deps.logger.debug(
        { event: LogEvents.request, method: req.method, path: req.path, status: res.statusCode, ms: Math.round(seconds * 1000) },
        'request',
      )
    })
    next()
  }
}
