import { Writable } from 'node:stream'
import { parseConfig } from '../../src/config/load.js'
import type { Config } from '../../src/config/types.js'
import { createLogger } from '../../src/observability/logger.js'
import { startBroker, type RunningBroker } from '../../src/server.js'
import type { OAuthProvider } from '../../src/oauth/provider.js'
import type { Clock } from '../../src/tokens/clock.js'
import { createOpenIdClientProvider } from '../../src/oauth/openid-client-provider.js'
import { freePort, redisUrl, uniquePrefix } from './redis.js'
import { startOidcProvider, TEST_CLIENT_ID, TEST_CLIENT_SECRET, type OidcProviderOptions, type RunningOidcProvider } from './oidc-provider.js'
import { createBrowser, completeProviderLogin, type Browser } from './browser.js'
import { startUpstream, type Upstream } from './upstream.js'

export const TEST_SESSION_SECRET = 'test-session-secret-0123456789abcdef0123456789'
export const TEST_TOKEN_KEY = 'test-token-key-0123456789abcdef0123456789abcdef'

export interface TestBroker extends RunningBroker {
  config: Config
  /** publicUrl origin (the broker listens on it directly in tests) */
  origin: string
  /** every log line the broker wrote, raw JSON */
  logs: string[]
  prefix: string
  redisUrl: string
}

export interface TestBrokerOptions {
  name: string
  issuer?: string
  /** raw config keys merged over the defaults (shallow per section) */
  config?: Record<string, unknown>
  port?: number
  redisUrl?: string
  provider?: OAuthProvider
  /** openid-client customFetch hook, for IdP fault injection */
  providerFetch?: typeof fetch
  env?: NodeJS.ProcessEnv
  /**
   * the broker's clock (default: the system clock), also the provider port's (token expiry is reckoned on it);
   * test/support/clock.ts has clocks a test moves
   */
  clock?: Clock
  /** the server's request header timeout (default: server.ts HEADERS_TIMEOUT_MS) */
  headersTimeoutMs?: number
}

export function testConfig(opts: { name: string; port: number; issuer?: string; redisUrl: string; config?: Record<string, unknown>; env?: NodeJS.ProcessEnv }): Config {
  const over = opts.config ?? {}
  const section = (key: string, base: Record<string, unknown>) => ({ ...base, ...((over[key] as Record<string, unknown>) ?? {}) })
  const raw: Record<string, unknown> = {
    publicUrl: `http://127.0.0.1:${opts.port}`,
    port: opts.port,
    logLevel: 'debug',
    ...over,
    redis: section('redis', { url: opts.redisUrl, keyPrefix: uniquePrefix(opts.name) }),
    session: section('session', { secrets: [TEST_SESSION_SECRET] }),
    tokens: section('tokens', { encryptionKeys: [TEST_TOKEN_KEY] }),
    provider: section('provider', {
      ...(opts.issuer ? { issuer: opts.issuer } : {}),
      clientId: TEST_CLIENT_ID,
      clientSecret: TEST_CLIENT_SECRET,
      scopes: ['openid', 'profile', 'email', 'offline_access'],
      authorizationParams: { prompt: 'consent' },
    }),
  }
  return parseConfig(raw, opts.env ?? {})
}

const nowOf = (clock: Clock | undefined) => (clock ? () => clock.now() : undefined)

/** A broker from createApp on a free loopback port, against the shared test Redis. */
export async function startTestBroker(opts: TestBrokerOptions): Promise<TestBroker> {
  const port = opts.port ?? (await freePort())
  const url = opts.redisUrl ?? redisUrl()
  const config = testConfig({ name: opts.name, port, issuer: opts.issuer, redisUrl: url, config: opts.config, env: opts.env })
  const logs: string[] = []
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean))
      cb()
    },
  })
  const logger = createLogger({ level: config.logLevel, destination })
  const provider =
    opts.provider ??
    createOpenIdClientProvider({ config: config.provider, logger, allowInsecureHttp: true, fetch: opts.providerFetch, now: nowOf(opts.clock) })
  const running = await startBroker(config, {
    logger, provider, host: '127.0.0.1', port, clock: opts.clock, headersTimeoutMs: opts.headersTimeoutMs,
  })
  return { ...running, config, origin: config.publicUrl.origin, logs, prefix: config.redis.keyPrefix, redisUrl: url }
}

/** A broker and an oidc-provider that trusts it, started together. */
export async function startBrokerWithProvider(
  opts: Omit<TestBrokerOptions, 'issuer'> & { idp?: OidcProviderOptions; retried?: boolean },
): Promise<{ broker: TestBroker; idp: RunningOidcProvider; stop(): Promise<void> }> {
  const port = opts.port ?? (await freePort())
  const origin = `http://127.0.0.1:${port}`
  const idp = await startOidcProvider({
    redirectUris: [`${origin}/bff/callback`],
    postLogoutRedirectUris: [`${origin}/`, `${origin}/goodbye`],
    backchannelLogoutUri: `${origin}/bff/backchannel-logout`,
    ...opts.idp,
  })
  let broker: TestBroker
  try {
    broker = await startTestBroker({ ...opts, port, issuer: idp.issuer })
  } catch (err) {
    await idp.stop()
    // the free port was taken by another test file between freePort() and listen(): pick another, once more
    if ((err as { code?: string }).code === 'EADDRINUSE' && opts.port === undefined && !opts.retried) {
      return startBrokerWithProvider({ ...opts, retried: true })
    }
    throw err
  }
  return {
    broker,
    idp,
    async stop() {
      await broker.stop()
      await idp.stop()
    },
  }
}

/** Logs `browser` in through the broker and the provider's own pages; returns the callback response. */
export async function login(
  browser: Browser,
  broker: TestBroker,
  opts: { returnTo?: string; user?: 'alice' | 'bob' } = {},
) {
  const start = await browser.get(`${broker.origin}/bff/login${opts.returnTo ? `?returnTo=${encodeURIComponent(opts.returnTo)}` : ''}`)
  if (start.status !== 302 || !start.location) throw new Error(`login did not redirect: ${start.status} ${start.body}`)
  const user = opts.user ?? 'alice'
  const callback = await completeProviderLogin(browser, start.location, { login: user, password: user })
  const res = await browser.get(callback, { site: 'cross-site' })
  return { start, callbackUrl: callback, res }
}

export { createBrowser }

/** A broker, its provider and the echo upstream; `options` receives the upstream's URL for the `apis` targets. */
export async function startBrokerWithUpstream(
  options: (upstreamUrl: string) => Parameters<typeof startBrokerWithProvider>[0],
): Promise<{ broker: TestBroker; idp: RunningOidcProvider; upstream: Upstream; stop(): Promise<void> }> {
  const upstream = await startUpstream()
  const bed = await startBrokerWithProvider(options(upstream.url))
  return {
    ...bed,
    upstream,
    async stop() {
      await bed.stop()
      await upstream.stop()
    },
  }
}
