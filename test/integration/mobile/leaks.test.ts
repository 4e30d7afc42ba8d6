import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { athFor } from '../../../examples/mobile-client.js'
import { createBrowser, startBrokerWithUpstream, type TestBroker } from '../../support/start-app.js'
import { completeProviderLogin } from '../../support/browser.js'
import { readLoginTransaction } from '../../support/grants.js'
import { redisDump } from '../../support/redis.js'
import { authorizeParams, authorizeUrl, mobileBrokerConfig, redeem, storedForHandle, withHandle, type ManualLogin } from './support.js'

// Invariants 1 and 19 over a whole mobile flow: no provider token, authorization code, code verifier, handoff code or
// handle in any log line, and no handle (or anything that names one) in Redis in clear.

let broker: TestBroker
let stop: () => Promise<void>
beforeAll(async () => {
  ;({ broker, stop } = await startBrokerWithUpstream((url) => ({ name: 'mobile-leaks', config: mobileBrokerConfig(url) })))
})
afterAll(() => stop())

describe('secrets of a mobile flow', () => {
  it('when a mobile app logs in, calls, fails, logs out and replays its code, then no secret of the flow is in a log line or in Redis in clear', async () => {
    const secrets: Record<string, string> = {}
    const { key, verifier, params } = await authorizeParams()
    secrets.appVerifier = verifier
    const browser = createBrowser()
    const start = await browser.get(authorizeUrl(broker, params))
    const state = new URL(start.location!).searchParams.get('state')!
    secrets.brokerVerifier = readLoginTransaction(broker, browser, state)!.codeVerifier
    const callback = await completeProviderLogin(browser, start.location!)
    secrets.providerCode = new URL(callback).searchParams.get('code')!
    const back = await browser.get(callback, { site: 'cross-site' })
    secrets.handoffCode = new URL(back.location!).searchParams.get('code')!
    const login: ManualLogin = {
      clientId: params.client_id!, redirectUri: params.redirect_uri!, state: params.state!, verifier, key,
      location: back.location!, code: secrets.handoffCode, browser,
    }
    const token = await redeem(broker, login)
    expect(token.status).toBe(200)
    const handle = token.body.access_token as string
    secrets.handle = handle
    secrets.handleHash = athFor(handle)

    expect((await withHandle(broker, '/api/orders/1?q=1', handle, { key })).status).toBe(200)
    expect((await withHandle(broker, '/bff/user', handle, { key })).status).toBe(200)
    expect((await withHandle(broker, '/api/orders/1', handle, { proof: null })).status).toBe(401)
    expect((await withHandle(broker, '/api/orders/1', handle, { scheme: 'Bearer' })).status).toBe(401)
    const { grant } = await storedForHandle(broker, handle)
    secrets.accessToken = grant!.tokens.accessToken
    secrets.refreshToken = grant!.tokens.refreshToken!
    secrets.idToken = grant!.tokens.idToken!

    const dump = await redisDump(broker.redisUrl, broker.prefix)
    for (const [name, value] of Object.entries(secrets)) {
      if (name === 'brokerVerifier') continue // sealed in the login cookie, never in Redis
      expect(dump.includes(value), `${name} in Redis`).toBe(false)
    }
    expect(dump).not.toMatch(/bffm_/)
    expect(dump).not.toMatch(/eyJ[\w-]+\.eyJ/)

    expect((await withHandle(broker, '/bff/mobile/logout', handle, { key, method: 'POST' })).status).toBe(204)
    expect((await redeem(broker, login)).status).toBe(400)
    expect((await withHandle(broker, '/bff/user', handle, { key })).status).toBe(401)

    const logs = broker.logs.join('\n')
    expect(logs.length).toBeGreaterThan(0)
    for (const [name, value] of Object.entries(secrets)) {
      expect(value.length, name).toBeGreaterThanOrEqual(32)
      expect(logs.includes(value), `${name} in the logs`).toBe(false)
    }
    expect(logs).not.toMatch(/bffm_/)
  })
})
