import { Redis } from 'ioredis'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createBrowser, login, startBrokerWithUpstream, type TestBroker } from '../../support/start-app.js'
import type { Browser } from '../../support/browser.js'
import { TEST_CLIENT_ID, TEST_CLIENT_SECRET, type RunningOidcProvider } from '../../support/oidc-provider.js'
import { readSessionGrant } from '../../support/grants.js'
import { createOffsetClock } from '../../support/clock.js'
import { redisKeys } from '../../../src/session/keys.js'

// bff_token_refreshes_total{outcome} and bff_session_ends_total{reason}: each way a refresh or a session ends is
// counted under its own name, and a session the broker ends loses its grant with it.

// the broker's own time moves ahead in a test; each test starts again at the provider's (real) time, whose ID
// tokens would otherwise look hours old to the broker
const clock = createOffsetClock()
let broker: TestBroker
let idp: RunningOidcProvider
let stop: () => Promise<void>
let idpDown = false

beforeAll(async () => {
  ;({ broker, idp, stop } = await startBrokerWithUpstream((url) => ({
    name: 'lifecycle-metrics',
    clock,
    providerFetch: (input, init) => (idpDown ? Promise.reject(new TypeError('fetch failed')) : fetch(input, init)),
    config: { apis: [{ path: '/api/orders', target: `${url}/echo`, token: 'user' }] },
  })))
})
afterAll(() => stop?.())
beforeEach(() => clock.reset())

const xhr = { xhr: true, headers: { 'x-csrf': '1' } }
const api = (b: Browser) => b.get(`${broker.origin}/api/orders/1`, xhr)
const count = async (name: string, label: string, value: string) => {
  const metric = await broker.broker.metrics.registry.getSingleMetric(name)?.get()
  return metric?.values.find((v) => v.labels[label] === value)?.value ?? 0
}

async function revokeAtProvider(refreshToken: string) {
  const res = await fetch(new URL('/token/revocation', idp.issuer), {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${TEST_CLIENT_ID}:${TEST_CLIENT_SECRET}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ token: refreshToken, token_type_hint: 'refresh_token' }),
  })
  expect(res.status).toBe(200)
}

describe('token-lifecycle metrics', () => {
  it('when the provider is unreachable at a refresh, then it counts as transient and the session stays', async () => {
    const b = createBrowser()
    await login(b, broker)
    clock.advance(3_600_000)
    idpDown = true
    try {
      expect((await api(b)).status).toBe(503)
    } finally {
      idpDown = false
    }
    expect(await count('bff_token_refreshes_total', 'outcome', 'transient')).toBe(1)
    expect(await count('bff_session_ends_total', 'reason', 'invalid_grant')).toBe(0)
  })

  it('when the refresh token was revoked, then the refresh counts as invalid_grant and the session end as invalid_grant', async () => {
    const b = createBrowser()
    await login(b, broker)
    const { grant } = await readSessionGrant(broker, b)
    await revokeAtProvider(grant!.tokens.refreshToken!)
    clock.advance(3_600_000)
    const res = await api(b)
    expect(res.status).toBe(401)
    expect(JSON.parse(res.body).error).toBe('session_expired')
    expect(await count('bff_token_refreshes_total', 'outcome', 'invalid_grant')).toBe(1)
    expect(await count('bff_session_ends_total', 'reason', 'invalid_grant')).toBe(1)
    expect(await count('bff_requests_rejected_total', 'reason', 'unauthenticated')).toBeGreaterThanOrEqual(1)
  })

  it('when a session outlives its absolute timeout, then it ends as absolute, with its grant', async () => {
    const b = createBrowser()
    await login(b, broker)
    const { grant } = await readSessionGrant(broker, b)
    clock.advance((broker.config.session.absoluteTimeoutSeconds + 1) * 1000)
    const res = await b.get(`${broker.origin}/bff/user`, xhr)
    expect(res.status).toBe(401)
    expect(JSON.parse(res.body).error).toBe('session_expired')
    expect(await count('bff_session_ends_total', 'reason', 'absolute')).toBe(1)
    const redis = new Redis(broker.redisUrl)
    try {
      expect(await redis.exists(redisKeys(broker.prefix).grant(grant!.id))).toBe(0)
    } finally {
      redis.disconnect()
    }
  })

  it('when a browser logs in again over its session, then the old one ends as relogin', async () => {
    const b = createBrowser()
    await login(b, broker)
    const before = await count('bff_session_ends_total', 'reason', 'relogin')
    await login(b, broker)
    expect(await count('bff_session_ends_total', 'reason', 'relogin')).toBe(before + 1)
  })
})
