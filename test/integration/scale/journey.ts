import { expect } from 'vitest'
import { LogEvents } from '../../../src/observability/log-events.js'
import { redisKeys } from '../../../src/session/keys.js'
import type { RedisClient } from '../../../src/session/redis-store.js'
import { unsignSessionCookie } from '../../../src/session/http-session.js'
import { completeProviderLogout, type Browser } from '../../support/browser.js'
import { keysWithPrefix, redisUrl } from '../../support/redis.js'
import { createBrowser, login, startBrokerWithUpstream, type TestBroker } from '../../support/start-app.js'
import { createOffsetClock } from '../../support/clock.js'

// access tokens live 4 s: the refresh skew is capped at half the lifetime, so a token is refreshed after 2 s
const ACCESS_TTL = 4

/**
 * One user journey against a broker whose store is `redis` (Sentinel or Cluster): login, an API call, a refresh,
 * logout, and a back-channel logout. `inspect` is a client on the same topology, for checking where keys live.
 */
export async function runJourney(opts: { name: string; redis: Record<string, unknown>; inspect: RedisClient }): Promise<void> {
  // the broker's clock: the journey moves it past the refresh point instead of waiting
  const clock = createOffsetClock()
  const bed = await startBrokerWithUpstream((url) => ({
    name: opts.name,
    clock,
    idp: { accessTokenTtlSeconds: ACCESS_TTL, rotateRefreshToken: true },
    config: {
      apis: [{ path: '/api/orders', target: `${url}/echo`, token: 'user' }],
      redis: { url: undefined, ...opts.redis },
    },
  }))
  const { broker, idp, upstream } = bed
  const keys = redisKeys(broker.prefix)
  const api = (b: Browser) => b.get(`${broker.origin}/api/orders/1`, { xhr: true, headers: { 'x-csrf': '1' } })
  const user = (b: Browser) => b.get(`${broker.origin}/bff/user`, { xhr: true, headers: { 'x-csrf': '1' } })
  const bearer = () => upstream.requests.at(-1)?.headers.authorization
  try {
    const b = createBrowser()
    await login(b, broker)
    const sessionKey = keys.session(sessionIdOf(broker, b))
    expect(await opts.inspect.exists(sessionKey)).toBe(1)
    // nothing went to the single test Redis: the broker writes to the topology it was configured with
    expect(await keysWithPrefix(redisUrl(), broker.prefix)).toEqual([])

    expect((await api(b)).status).toBe(200)
    const first = bearer()
    const refreshesBefore = idp.counts.refreshTokenGrants
    clock.advance((ACCESS_TTL / 2) * 1000 + 300)
    expect((await api(b)).status).toBe(200)
    expect(bearer()).not.toBe(first)
    expect(idp.counts.refreshTokenGrants - refreshesBefore).toBe(1)

    const logoutUrl = JSON.parse((await user(b)).body).logoutUrl as string
    expect((await b.get(`${broker.origin}${logoutUrl}`, { site: 'same-origin' })).status).toBe(302)
    expect((await user(b)).status).toBe(401)
    expect(await opts.inspect.exists(sessionKey)).toBe(0)

    await backChannelLogout(broker, idp, user)
    // no CROSSSLOT, MOVED or auth failure surfaced anywhere (pino: 50 is error)
    const trouble = broker.logs.filter((line) => line.includes(`"event":"${LogEvents.redisError}"`) || /"level":50/.test(line))
    expect(trouble).toEqual([])
  } finally {
    await bed.stop()
  }
}

async function backChannelLogout(
  broker: TestBroker,
  idp: { issuer: string; counts: { backchannelLogouts: number } },
  user: (b: Browser) => Promise<{ status: number }>,
): Promise<void> {
  const b = createBrowser()
  await login(b, broker)
  const other = createBrowser()
  await login(other, broker, { user: 'bob' })
  const before = idp.counts.backchannelLogouts
  // logging out at the provider itself (not through the broker) makes it call the back-channel logout endpoint
  await completeProviderLogout(b, new URL('/session/end', idp.issuer))
  await expect.poll(() => idp.counts.backchannelLogouts, { timeout: 5000 }).toBe(before + 1)
  await expect.poll(async () => (await user(b)).status, { timeout: 5000 }).toBe(401)
  expect((await user(other)).status).toBe(200)
}

function sessionIdOf(broker: TestBroker, b: Browser): string {
  const cookie = b.cookie(broker.origin, broker.config.session.cookieName)
  const id = cookie && unsignSessionCookie(cookie, broker.config.session.secrets)
  if (!id) throw new Error('no session cookie after login')
  return id
}
