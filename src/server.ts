import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Config } from './config/types.js'
import { createApp, type AppDeps, type BrokerApp } from './app.js'
import { createLogger, type Logger } from './observability/logger.js'
import { LogEvents } from './observability/log-events.js'
import { createRedisClient, createRedisStore, waitUntilReady, type RedisClient } from './session/redis-store.js'
import { createMemoryStore } from './session/memory-store.js'
import type { KeyValueStore } from './session/store.js'
import type { OAuthProvider } from './oauth/provider.js'
import { createOpenIdClientProvider } from './oauth/openid-client-provider.js'
import { createMetricsListener } from './observability/metrics-listener.js'
import { capConnectionsPerClient } from './http/connection-cap.js'
import { startTracing } from './observability/tracing.js'
import { httpProviderUrls } from './config/rules.js'
import { checkEvictionPolicy } from './session/eviction-policy.js'

/** Slow clients are cut off: request headers must arrive within 20 s (docs/architecture.md invariant 14). */
export const HEADERS_TIMEOUT_MS = 20_000

export interface RunningBroker {
  url: string
  server: Server
  /** the metrics.port listener's URL, when metrics.port is set */
  metricsUrl?: string
  broker: BrokerApp
  /** graceful stop: stop accepting, finish in-flight requests, close Redis (invariant 11) */
  stop(): Promise<void>
}

/** Builds the real dependencies from a config and listens. Used by main.ts, the demo and tests. */
export async function startBroker(
  config: Config,
  opts: {
    logger?: Logger
    provider?: OAuthProvider
    host?: string
    port?: number
    allowInsecureHttp?: boolean
    /** see AppDeps.extraRoutes (the demo page) */
    extraRoutes?: AppDeps['extraRoutes']
    /** see AppDeps.clock (tests reach expiry edges without waiting) */
    clock?: AppDeps['clock']
    /** request headers must arrive within this long (default HEADERS_TIMEOUT_MS; tests use a short one) */
    headersTimeoutMs?: number
  } = {},
): Promise<RunningBroker> {
  const logger = opts.logger ?? createLogger({ level: config.logLevel })
  // before anything that traces is built (the Redis client, the provider, the app): each asks for the tracer once
  const tracing = await startTracing({ logger })
  let redis: RedisClient | undefined
  let store: KeyValueStore
  if (config.redis.url || config.redis.sentinel || config.redis.cluster) {
    const client = createRedisClient(config.redis)
    redis = client
    redis.on('error', (err: Error) => logger.warn({ event: LogEvents.redisError, err: err.message }, 'redis error'))
    redis.on('ready', () => {
      logger.info({ event: LogEvents.redisConnected }, 'redis connected')
      // at each (re)connection, not awaited: a slow or refused CONFIG GET never holds anything back
      void checkEvictionPolicy(client, logger)
    })
    store = createRedisStore(redis, config.redis.replicaAck)
    // start even when Redis is down: /readyz answers 503 until it is back
    await waitUntilReady(redis, 5000).catch(() => undefined)
  } else {
    logger.warn({ event: LogEvents.demoStoreInUse }, 'no Redis configured: sessions live in this process only (demo use only)')
    store = createMemoryStore()
  }
  const provider =
    opts.provider ??
    createOpenIdClientProvider({
      config: config.provider,
      logger,
      // production: the config rules admit http provider URLs only on loopback or with provider.allowInsecureHttp
      allowInsecureHttp: opts.allowInsecureHttp ?? (!config.production || httpProviderUrls(config.provider, { loopback: true }).length > 0),
    })
  const insecure = httpProviderUrls(config.provider, { loopback: false })
  if (config.provider.allowInsecureHttp && insecure.length > 0) {
    logger.warn(
      { event: LogEvents.providerInsecureHttp, keys: insecure.map((u) => u.key) },
      'provider.allowInsecureHttp is on: the client secret and tokens cross plain http to the provider',
    )
  }
  provider.startLoading()
  if (config.provider.passwordGrant) {
    logger.warn({ event: LogEvents.passwordGrantEnabled }, 'provider.passwordGrant is on: the resource owner password grant is deprecated (RFC 9700 §2.4)')
  }
  const broker = createApp({ config, store, redis, provider, logger, extraRoutes: opts.extraRoutes, clock: opts.clock })
  const server = createServer(
    { headersTimeout: opts.headersTimeoutMs ?? HEADERS_TIMEOUT_MS, requestTimeout: 0, connectionsCheckingInterval: 1000 },
    broker.handle,
  )
  server.on('upgrade', broker.handleUpgrade)
  capConnections(server, broker, config, logger)
  const metricsServer = config.metrics.port === undefined ? undefined : createMetricsListener(broker.metrics)
  let url: string
  let metricsUrl: string | undefined
  try {
    const port = await listen(server, opts.port ?? config.port, opts.host ?? '0.0.0.0')
    url = `http://${opts.host ?? '127.0.0.1'}:${port}`
    if (metricsServer) {
      const { host } = config.metrics
      const metricsPort = await listen(metricsServer, config.metrics.port ?? 0, host)
      metricsUrl = `http://${host.includes(':') ? `[${host}]` : host}:${metricsPort}/metrics`
    }
  } catch (err) {
    // e.g. EADDRINUSE: release what was opened so the process can exit with a clear message
    server.close()
    metricsServer?.close()
    provider.stop()
    await store.close()
    await tracing.shutdown()
    throw err
  }
  logger.info({ event: LogEvents.listening, url, publicUrl: config.publicUrl.origin }, 'listening')
  if (metricsUrl) logger.info({ event: LogEvents.metricsListening, url: metricsUrl }, 'metrics listening')

  let stopping: Promise<void> | undefined
  const stop = () =>
    (stopping ??= (async () => {
      logger.info({ event: LogEvents.stopping }, 'stopping')
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      // close() lets go of the connections idle now; a keep-alive one whose request is still in flight goes idle
      // later and would otherwise hold the exit back for keepAliveTimeout, so let go of those as they finish
      const idle = setInterval(() => server.closeIdleConnections(), 100)
      // in-flight requests finish; a stuck one is cut after 25 s (a typical orchestrator grace period is 30 s)
      const deadline = setTimeout(() => server.closeAllConnections(), 25_000)
      await closed
      clearInterval(idle)
      clearTimeout(deadline)
      // the scraper may watch the drain; its listener goes when the main one has
      if (metricsServer) {
        const metricsClosed = new Promise<void>((resolve) => metricsServer.close(() => resolve()))
        metricsServer.closeAllConnections()
        await metricsClosed
      }
      await broker.close()
      provider.stop()
      await store.close()
      // the spans still buffered (this shutdown's among them) go out before the process exits
      await tracing.shutdown().catch(() => undefined)
      logger.info({ event: LogEvents.stopped }, 'stopped')
      logger.flush()
    })())
  return { url, server, broker, stop, ...(metricsUrl !== undefined && { metricsUrl }) }
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve((server.address() as AddressInfo).port)
    })
  })
}

/** limits.maxConnectionsPerClient; a peer express trusts as a proxy (trustProxy) is exempt: it carries many clients. */
function capConnections(server: Server, broker: BrokerApp, config: Config, logger: Logger) {
  const trust = broker.app.get('trust proxy fn') as (address: string, hop: number) => boolean
  const max = config.limits.maxConnectionsPerClient
  capConnectionsPerClient(server, {
    max,
    isTrustedProxy: (address) => trust(address, 0),
    onCapped: (client) =>
      logger.warn({ event: LogEvents.connectionsCapped, client, max }, 'client address at its connection cap: new connections closed'),
    onRefused: () => broker.metrics.connectionsRefused.inc(),
  })
}
