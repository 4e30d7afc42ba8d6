import type { IncomingMessage, ServerResponse } from 'node:http'
import type { RequestHandler } from 'express'
import type { Logger } from '../../observability/logger.js'
import type { Metrics } from '../../observability/metrics.js'
import { LogEvents } from '../../observability/log-events.js'
import { activeTracer, nameServerSpan } from '../../observability/spans.js'

export type TrackRequest = (req: IncomingMessage, res: ServerResponse, route: string) => void

/**
 * Times a request, counts it by route, and logs one line per request: method, path and status, never the query
 * string (the callback's holds an authorization code) and never a header. Used by express and the API fast path.
 */
export function createRequestTracker(deps: { logger: Logger; metrics: Metrics }): TrackRequest {
  const debug = deps.logger.isLevelEnabled('debug')
  // prom-client hashes the label object on every call; the children are cached here per label combination
  const counters = new Map<string, { inc(): void }>()
  const histograms = new Map<string, { observe(v: number): void }>()
  const counter = (route: string, method: string, status: string) => {
    const key = `${route}\n${method}\n${status}`
    let child = counters.get(key)
    if (!child) counters.set(key, (child = deps.metrics.requests.labels({ route, method, status })))
    return child
  }
  const histogram = (route: string, method: string) => {
    const key = `${route}\n${method}`
    let child = histograms.get(key)
    if (!child) histograms.set(key, (child = deps.metrics.requestSeconds.labels({ route, method })))
    return child
  }
  const tracing = activeTracer() !== undefined
  return (req, res, route) => {
    const started = process.hrtime.bigint()
    // the request's server span takes the same closed route label as its metrics
    if (tracing) nameServerSpan(req.method, route)
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9
      const method = req.method ?? 'GET'
      counter(route, method, String(res.statusCode)).inc()
      histogram(route, method).observe(seconds)
      if (debug) {
        const path = (req.url ?? '').split('?')[0]
        deps.logger.debug({ event: LogEvents.request, method, path, status: res.statusCode, ms: Math.round(seconds * 1000) }, 'request')
      }
    })
  }
}

export function createRequestContext(deps: { track: TrackRequest; routeOf: (path: string) => string }): RequestHandler {
  return (req, res, next) => {
    deps.track(req, res, deps.routeOf(req.path))
    next()
  }
}
