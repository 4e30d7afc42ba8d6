import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBrowser, login, startTestBroker, type TestBroker } from '../../support/start-app.js'
import { freePort } from '../../support/redis.js'
import { startOidcProvider, type RunningOidcProvider } from '../../support/oidc-provider.js'

// The identity provider is not up when the broker starts (a common order in a compose file or a cluster): the broker
// starts anyway, says so on /readyz, refuses logins with 503 idp_unavailable and loads the metadata once the
// provider appears. createOpenIdClientProvider retries discovery after 1, 2, 4, 8 … s (capped at 30 s).

let broker: TestBroker
let idp: RunningOidcProvider | undefined
let idpPort: number

beforeAll(async () => {
  idpPort = await freePort()
  broker = await startTestBroker({ name: 'provider-down-at-start', issuer: `http://127.0.0.1:${idpPort}` })
})
afterAll(async () => {
  await broker?.stop()
  await idp?.stop()
})

const readyz = () => createBrowser().get(`${broker.origin}/readyz`, { xhr: true })

describe('provider down when the broker starts', () => {
  it('when the provider is down at start, then the broker runs, readyz names the provider, and logins answer 503 idp_unavailable', async () => {
    const b = createBrowser()
    expect((await b.get(`${broker.origin}/healthz`, { xhr: true })).status).toBe(200)

    const ready = await readyz()
    expect(ready.status).toBe(503)
    expect(JSON.parse(ready.body)).toMatchObject({ status: 'not_ready', redis: true, provider: false })

    const page = await b.get(`${broker.origin}/bff/login?returnTo=/`)
    expect(page.status).toBe(503)
    expect(page.location).toBeUndefined()
    expect(page.headers['content-type']).toMatch(/text\/html/)
    expect(page.body).toContain('idp_unavailable')

    const xhr = await b.get(`${broker.origin}/bff/login`, { xhr: true })
    expect(xhr.status).toBe(503)
    expect(JSON.parse(xhr.body)).toMatchObject({ error: 'idp_unavailable' })

    // a refused login leaves nothing behind: no login cookie, no session cookie
    expect(b.cookies(broker.origin)).toEqual([])
    expect(broker.server.listening).toBe(true)
    expect(broker.logs.some((line) => line.includes('"provider.metadata_failed"'))).toBe(true)
  })

  it('when the provider comes up at the configured issuer, then readyz turns 200 by itself and a login works', async () => {
    const origin = broker.origin
    idp = await startOidcProvider({
      port: idpPort,
      redirectUris: [`${origin}/bff/callback`],
      postLogoutRedirectUris: [`${origin}/`],
    })
    // only /readyz is polled: it never loads metadata itself, so turning 200 shows the background retry did it
    const started = Date.now()
    let status = 0
    while (Date.now() - started < 20_000) {
      status = (await readyz()).status
      if (status === 200) break
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    expect(status).toBe(200)
    expect(JSON.parse((await readyz()).body)).toMatchObject({ status: 'ready', redis: true, provider: true })

    const b = createBrowser()
    const { res } = await login(b, broker)
    expect(res.status).toBe(302)
    const me = await b.get(`${origin}/bff/user`, { xhr: true, headers: { 'x-csrf': '1' } })
    expect(me.status).toBe(200)
    expect(JSON.parse(me.body)).toMatchObject({ sub: 'alice' })
  })
})
