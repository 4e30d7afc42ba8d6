import type { Logger } from '../observability/logger.js'
import { LogEvents } from '../observability/log-events.js'
import { BffError } from '../errors.js'
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
  /** a problem no retry can fix (metadata-checks.ts): the provider is refused for good, with one error line */
  check?: (configuration: T) => string | undefined
}

export interface MetadataLoader<T> {
  /** undefined until a load succeeded */
  current(): T | undefined
  /** the loaded configuration, else one attempt shared by every caller that asks meanwhile */
  load(): Promise<T>
  /** retries in the background with backoff until a load succeeds, the provider is refused, or stop() is called */
  startLoading(): void
  stop(): void
}

export function createMetadataLoader<T extends LoadedMetadata>(opts: MetadataLoaderOptions<T>): MetadataLoader<T> {
  const { discover, logger, provider } = opts
  let configuration: T | undefined
  // set once the metadata failed a check: every later load fails at once, without asking the provider again
  let refused: BffError | undefined
  let loading: Promise<T> | undefined
  let retryTimer: NodeJS.Timeout | undefined
  let stopped = false
  let retrying = false

  const load = () => {
    if (configuration) return Promise.resolve(configuration)
    if (refused) return Promise.reject(refused)
    loading ??= discover()
      .then((c) => {
        const problem = opts.check?.(c)
        if (problem) throw refuse(problem)
        configuration = c
        logger.info({ event: LogEvents.providerMetadataLoaded, provider, issuer: c.serverMetadata().issuer }, 'provider metadata loaded')
        return c
      })
      .finally(() => {
        loading = undefined
      })
    return loading
  }

  function refuse(problem: string) {
    refused = new BffError(503, 'idp_unavailable', { detail: `provider metadata refused: ${problem}` })
    const event = LogEvents.providerMetadataRefused
    logger.error({ event, provider, problem }, `provider ${provider} refused: ${problem}`)
    return refused
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
          if (err === refused) {
            retrying = false
            return
          }
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
