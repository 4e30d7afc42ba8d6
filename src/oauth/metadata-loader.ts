import type { Logger } from '../observability/logger.js'
import { LogEvents } from '../observability/log-events.js'
import { translateOAuthError } from './errors.js'

const maxRetryDelayMs = 30_000

/** What the loader reads of a configuration; openid-client's Configuration fits without this file importing it. */
interface LoadedMetadata {
  serverMetadata(): { issuer: string }
}

export interface MetadataLoaderOptions<T> {
  /** one attempt at discovery (or at building the configuration from explicit endpoints) */
  discover: () => Promise<T>
  logger: Logger
  provider: string
}

export interface MetadataLoader<T> {
  /** undefined until a load succeeded */
  current(): T | undefined
  /** the loaded configuration, else one attempt shared by every caller that asks meanwhile */
  load(): Promise<T>
  /** retries in the background with backoff until a load succeeds or stop() is called; returns at once */
  startLoading(): void
  stop(): void
}

export function createMetadataLoader<T extends LoadedMetadata>(opts: MetadataLoaderOptions<T>): MetadataLoader<T> {
  const { discover, logger, provider } = opts
  let configuration: T | undefined
  let loading: Promise<T> | undefined
  let retryTimer: NodeJS.Timeout | undefined
  let stopped = false
  let retrying = false

  const load = () => {
    if (configuration) return Promise.resolve(configuration)
    loading ??= discover()
      .then((c) => {
        configuration = c
        logger.info({ event: LogEvents.providerMetadataLoaded, provider, issuer: c.serverMetadata().issuer }, 'provider metadata loaded')
        return c
      })
      .finally(() => {
        loading = undefined
      })
    return loading
  }

  function startLoading() {
    if (configuration || retrying || stopped) return
    retrying = true
    const attempt = (n: number) => {
      load().then(
        () => {
          retrying = false
        },
        (err: unknown) => {
          // 1 s, 2 s, 4 s … capped at 30 s: a provider that is down is not hammered, one that is back is found soon
          const delayMs = Math.min(1000 * 2 ** n, maxRetryDelayMs)
          const { detail } = translateOAuthError(err, 'metadata')
          logger.warn({ event: LogEvents.providerMetadataFailed, provider, detail, retryInMs: delayMs }, 'provider metadata not loaded')
          if (stopped) return
          retryTimer = setTimeout(() => {
            retryTimer = undefined
            attempt(n + 1)
          }, delayMs)
          retryTimer.unref()
        },
      )
    }
    attempt(0)
  }

  function stop() {
    stopped = true
    if (retryTimer) clearTimeout(retryTimer)
    retryTimer = undefined
  }

  return { current: () => configuration, load, startLoading, stop }
}
