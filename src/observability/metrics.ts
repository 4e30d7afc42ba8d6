import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/** One registry per app instance (tests build several apps in one process). */
export interface Metrics {
  registry: Registry
  requests: Counter<'route' | 'method' | 'status'>
  requestSeconds: Histogram<'route' | 'method'>
  loginOutcomes: Counter<'outcome'>
  tokenRefreshes: Counter<'outcome'>
  clientCredentialsFetches: Counter<'outcome'>
  connectionsRefused: Counter
}

export function createMetrics(opts: { processMetrics: boolean }): Metrics {
  const registry = new Registry()
  if (opts.processMetrics) collectDefaultMetrics({ register: registry, prefix: 'bff_' })
  const registers = [registry]
  return {
    registry,
    requests: new Counter({
      name: 'bff_http_requests_total',
      help: 'HTTP requests by route, method and status',
      labelNames: ['route', 'method', 'status'],
      registers,
    }),
    requestSeconds: new Histogram({
      name: 'bff_http_request_duration_seconds',
      help: 'HTTP request latency by route',
      labelNames: ['route', 'method'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    loginOutcomes: new Counter({
      name: 'bff_logins_total',
      help: 'Completed logins by outcome (success or an error code)',
      labelNames: ['outcome'],
      registers,
    }),
    tokenRefreshes: new Counter({
      name: 'bff_token_refreshes_total',
      help: 'Refresh-token grants sent to the provider, by outcome',
      labelNames: ['outcome'],
      registers,
    }),
    clientCredentialsFetches: new Counter({
      name: 'bff_client_credentials_fetches_total',
      help: 'Client-credentials grants sent to the provider, by outcome',
      labelNames: ['outcome'],
      registers,
    }),
    connectionsRefused: new Counter({
      name: 'bff_connections_refused_total',
      help: 'Connections closed at once because their client address held limits.maxConnectionsPerClient already',
      registers,
    }),
  }
}
