import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/** Why a session ended (`bff_session_ends_total{reason}`); README "Operations" says what each one means. */
export type SessionEndReason =
  | 'logout'
  | 'mobile_logout'
  | 'backchannel'
  | 'frontchannel'
  | 'self_service'
  | 'admin'
  | 'absolute'
  | 'invalid_grant'
  | 'relogin'
  | 'handoff_refused'

/** Why a request was refused (`bff_requests_rejected_total{reason}`): a closed set, derived from the error code. */
export type RejectReason = 'csrf' | 'unauthenticated' | 'dpop' | 'forbidden' | 'rate_limited' | 'invalid_request'

/** One registry per app instance (tests build several apps in one process). */
export interface Metrics {
  registry: Registry
  requests: Counter<'route' | 'method' | 'status'>
  requestSeconds: Histogram<'route' | 'method'>
  loginOutcomes: Counter<'outcome'>
  /** outcome: ok | invalid_grant | transient | error */
  tokenRefreshes: Counter<'outcome'>
  /** lock: grant | client_credentials; outcome: acquired | timeout */
  lockWaitSeconds: Histogram<'lock' | 'outcome'>
  /** outcome: caught_up | unavailable */
  rotationGraceHits: Counter<'outcome'>
  clientCredentialsFetches: Counter<'outcome'>
  /** result: hit | miss | stale */
  clientCredentialsCache: Counter<'result'>
  sessionEnds: Counter<'reason'>
  requestsRejected: Counter<'reason'>
  connectionsRefused: Counter
  /** `bff_redis_up` reads this probe at each scrape */
  observeStore(isAvailable: () => boolean): void
}

export function createMetrics(opts: { processMetrics: boolean }): Metrics {
  const registry = new Registry()
  if (opts.processMetrics) collectDefaultMetrics({ register: registry, prefix: 'bff_' })
  const registers = [registry]
  const counter = <L extends string>(name: string, help: string, labelNames: L[]) =>
    new Counter<L>({ name, help, labelNames, registers })
  let storeProbe: (() => boolean) | undefined
  new Gauge({
    name: 'bff_redis_up',
    help: '1 while the session store (Redis) connection is ready, else 0',
    registers,
    collect() {
      if (storeProbe) this.set(storeProbe() ? 1 : 0)
    },
  })
  return {
    registry,
    requests: counter('bff_http_requests_total', 'HTTP requests by route, method and status', ['route', 'method', 'status']),
    requestSeconds: new Histogram({
      name: 'bff_http_request_duration_seconds',
      help: 'HTTP request latency by route',
      labelNames: ['route', 'method'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    loginOutcomes: counter('bff_logins_total', 'Completed logins by outcome (success or an error code)', ['outcome']),
    tokenRefreshes: counter(
      'bff_token_refreshes_total',
      'Refresh-token grants sent to the provider, by outcome: ok, invalid_grant (the grant ends), transient (503, the session stays), error',
      ['outcome'],
    ),
    lockWaitSeconds: new Histogram({
      name: 'bff_token_lock_wait_seconds',
      help: 'Time spent waiting for a token lock (grant refresh or client-credentials fetch), by lock and outcome',
      labelNames: ['lock', 'outcome'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    rotationGraceHits: counter(
      'bff_rotation_grace_hits_total',
      'Reads under the lock that found a grant older than a recorded refresh-token rotation, by outcome',
      ['outcome'],
    ),
    clientCredentialsFetches: counter(
      'bff_client_credentials_fetches_total',
      'Client-credentials grants sent to the provider, by outcome',
      ['outcome'],
    ),
    clientCredentialsCache: counter(
      'bff_client_credentials_cache_total',
      'Client-credentials token lookups: hit (cached), miss (fetched), stale (cached token served while the provider is down)',
      ['result'],
    ),
    sessionEnds: counter('bff_session_ends_total', 'Sessions the broker ended, by reason (idle expiry happens in Redis and is not counted)', ['reason']),
    requestsRejected: counter('bff_requests_rejected_total', 'Requests refused with a 4xx before reaching a route or upstream, by reason', ['reason']),
    connectionsRefused: new Counter({
      name: 'bff_connections_refused_total',
      help: 'Connections closed at once because their client address held limits.maxConnectionsPerClient already',
      registers,
    }),
    observeStore(isAvailable) {
      storeProbe = isAvailable
    },
  }
}

/** The rejection reason of an error code; undefined for codes that are not a refusal of the caller (5xx, 404 …). */
export function rejectReasonOf(code: string): RejectReason | undefined {
  switch (code) {
    case 'csrf_failed':
      return 'csrf'
    case 'unauthorized':
    case 'session_expired':
    case 'invalid_client':
      return 'unauthenticated'
    case 'invalid_dpop_proof':
      return 'dpop'
    case 'forbidden':
    case 'no_offline_grant':
      return 'forbidden'
    case 'too_many_requests':
      return 'rate_limited'
    case 'invalid_request':
      return 'invalid_request'
    default:
      return undefined
  }
}
