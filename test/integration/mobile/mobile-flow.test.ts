import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBrokerWithUpstream, type TestBroker } from '../../support/start-app.js'
import type { Upstream } from '../../support/upstream.js'
import { APP_REDIRECT, BEARER_APP, mobileClient, mobileConfig, mobileLogin } from '../../support/mobile.js'
import { redisDump } from '../../support/redis.js'

let broker: TestBroker
let upstream: Upstream
let stop: () => Promise<void>
beforeAll(async () => {
  ;({ broker, upstream, stop } = await startBrokerWithUpstream((target) => ({
    name: 'mobile-flow',
    config: { mobile: mobileConfig(), apis: [{ path: '/api/orders', target: `${target}/echo/v1`, token: 'user' }] },
  })))
})
afterAll(() => stop())

describe('a mobile app with a back end', () => {
  it('when the app logs in through the system browser, then it holds a DPoP handle (never a provider token) that works on /bff/user and the API, and logout ends it', async () => {
    const client = mobileClient(broker)
    const { token, location } = await mobileLogin(broker, client)
    const back = new URL(location)
    expect(back.origin + back.pathname).toBe(APP_REDIRECT)
    expect(back.searchParams.get('iss')).toBe(broker.origin)
    expect(token.tokenType).toBe('DPoP')
    expect(token.accessToken).toMatch(/^bffm_[A-Za-z0-9_-]{43}$/)
    expect(token.expiresIn).toBeGreaterThan(7_776_000 - 60)

    const user = await client.fetch('/bff/user')
    expect(user.status).toBe(200)
    expect(await user.json()).toMatchObject({ sub: expect.any(String) })

    const api = await client.fetch('/api/orders/42?x=1')
    expect(api.status).toBe(200)
    const seen = upstream.requests.at(-1)!
    expect(seen.headers.authorization).toMatch(/^Bearer [\w.-]+$/)
    expect(seen.headers.authorization).not.toContain(token.accessToken)
    expect(seen.headers.dpop).toBeUndefined()

    await client.logout()
    const after = await fetch(`${broker.origin}/bff/user`, { headers: { authorization: `DPoP ${token.accessToken}` } })
    expect(after.status).toBe(401)
  })

  it('when a bearer app logs in, then its handle is a Bearer token with no proof needed', async () => {
    const client = mobileClient(broker, { clientId: BEARER_APP })
    const { token } = await mobileLogin(broker, client)
    expect(token.tokenType).toBe('Bearer')
    const user = await client.fetch('/bff/user')
    expect(user.status).toBe(200)
  })

  it('when the app has logged in, then Redis holds no handle, handoff code or provider token in clear', async () => {
    const client = mobileClient(broker)
    const { token, location } = await mobileLogin(broker, client)
    const code = new URL(location).searchParams.get('code')!
    const dump = await redisDump(broker.redisUrl, broker.prefix)
    expect(dump).not.toContain(token.accessToken)
    expect(dump).not.toContain(code)
    expect(dump).not.toMatch(/bffm_/)
    expect(dump).not.toMatch(/eyJ[\w-]+\.eyJ/)
  })
})
