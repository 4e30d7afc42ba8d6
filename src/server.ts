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

/** Slow clients are cut off: request headers must arrive within 20 s (docs/architecture.md invariant 14). */
export const HEADERS_TIMEOUT_MS = 20_000

export interface RunningBroker {
  url: string
  server: Server
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
  } = {},
): Promise<RunningBroker> {
  const logger = opts.logger ?? createLogger({ level: config.logLevel })
  let redis: RedisClient | undefined
  let store: KeyValueStore
  if (config.redis.url || config.redis.sentinel || config.redis.cluster) {
    redis = createRedisClient(config.redis)
    redis.on('error', (err: Error) => logger.warn({ event: LogEvents.redisError, err: err.message }, 'redis error'))
    redis.on('ready', () => logger.info({ event: LogEvents.redisConnected }, 'redis connected'))
    store = createRedisStore(redis)
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
      allowInsecureHttp: opts.allowInsecureHttp ?? !config.production,
    })
  provider.startLoading()
  if (config.provider.passwordGrant) {
    logger.warn({ event: LogEvents.passwordGrantEnabled }, 'provider.passwordGrant is on: the resource owner password grant is deprecated (RFC 9700 §2.4)')
  }
  const broker = createApp({ config, store, redis, provider, logger, extraRoutes: opts.extraRoutes, clock: opts.clock })
  const server = createServer({ headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: 0, connectionsCheckingInterval: 1000 }, broker.handle)
  server.on('upgrade', broker.handleUpgrade)
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(opts.port ?? config.port, opts.host ?? '0.0.0.0', () => {
        server.off('error', reject)
        resolve()
      })
    })
  } catch (err) {
    // e.g. EADDRINUSE: release what was opened so the process can exit with a clear message
    provider.stop()
    await store.close()
    throw err
  }
  const { port } = server.address() as AddressInfo
  const url = `http://${opts.host ?? '127.0.0.1'}:${port}`
  logger.info({ event: LogEvents.listening, url, publicUrl: config.publicUrl.origin }, 'listening')

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
      await broker.close()
      provider.stop()
      await store.close()
      logger.info({ event: LogEvents.stopped }, 'stopped')
      logger.flush()
    })())
  return { url, server, broker, stop }
}
