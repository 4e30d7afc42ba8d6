import { createServer, type Server } from 'node:http'
import type { Metrics } from './metrics.js'

/**
 * The listener of `metrics.port`: `GET /metrics` and nothing else. Process and traffic figures are for the
 * operator's scraper, not for the site's visitors, so production keeps them off the public listener.
 */
export function createMetricsListener(metrics: Metrics): Server {
  // a scrape is one short GET: tight deadlines, nothing to wait for
  return createServer({ headersTimeout: 10_000, requestTimeout: 10_000 }, (req, res) => {
    res.setHeader('X-Content-Type-Options', 'nosniff')
    res.setHeader('Cache-Control', 'no-store')
    const path = (req.url ?? '').split('?')[0]
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'Content-Type': 'application/json; charset=utf-8' }).end('{"error":"not_found","message":"Not found."}')
      return
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': metrics.registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
      () => res.writeHead(500, { 'Content-Type': 'application/json; charset=utf-8' }).end('{"error":"server_error","message":"An unexpected error occurred."}'),
    )
  })
}
