import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBrowser, login, startBrokerWithProvider, type TestBroker } from '../../support/start-app.js'
import { dotSegmentPayloads, landsOn, openRedirectPayloads } from '../../support/open-redirects.js'
import type { RunningOidcProvider } from '../../support/oidc-provider.js'

let broker: TestBroker
let idp: RunningOidcProvider
let stop: () => Promise<void>
beforeAll(async () => {
  ;({ broker, idp, stop } = await startBrokerWithProvider({
    name: 'open-redirect',
    // about a thousand logins from one address within a minute: this file is not about the rate limit
    // and as many keep-alive connections: each payload gets a fresh browser (cookie jar and connection pool)
    config: { session: { loginRateLimitPerMinute: 100_000 }, limits: { maxConnectionsPerClient: 100_000 } },
  }))
})
afterAll(() => stop())

/** Each payload as returnTo at /bff/login: refused (400), or a full login whose final Location stays home. */
async function expectLoginsStayHome(payloads: string[]) {
  const accepted: string[] = []
  const b = createBrowser()
  for (const payload of payloads) {
    const res = await b.get(`${broker.origin}/bff/login?returnTo=${encodeURIComponent(payload)}`)
    expect([400, 302], payload).toContain(res.status)
    if (res.status === 302) accepted.push(payload)
  }
  // every accepted payload goes through a full login; where the browser lands is checked as a browser resolves it
  for (const payload of accepted) {
    const { res } = await login(createBrowser(), broker, { returnTo: payload })
    expect(res.status, payload).toBe(302)
    expect(landsOn(res.location!, broker.origin), payload).toBe(broker.origin)
  }
}

/** Where a logout sends the browser in the end: the post_logout_redirect_uri via the provider, or its Location. */
function logoutTarget(location: string): string {
  const url = new URL(location)
  if (url.origin !== new URL(idp.issuer).origin) return location
  return url.searchParams.get('post_logout_redirect_uri')!
}

/** Each payload as the logout returnTo, without a session and with one. */
async function expectLogoutsStayHome(payloads: string[]) {
  // returnTo is validated before anything else: without a session a refused payload is a 400, an accepted one a 302
  const accepted: string[] = []
  for (const payload of payloads) {
    const res = await createBrowser().get(`${broker.origin}/bff/logout?sid=x&returnTo=${encodeURIComponent(payload)}`)
    expect([400, 302], payload).toContain(res.status)
    if (res.status === 302) accepted.push(payload)
  }
  const b = createBrowser()
  for (const payload of accepted) {
    await login(b, broker)
    const me = JSON.parse((await b.get(`${broker.origin}/bff/user`, { xhr: true, headers: { 'x-csrf': '1' } })).body)
    const res = await b.get(`${broker.origin}${me.logoutUrl}&returnTo=${encodeURIComponent(payload)}`, { site: 'same-origin' })
    expect(res.status, payload).toBe(302)
    expect(landsOn(logoutTarget(res.location!), broker.origin), payload).toBe(broker.origin)
  }
}

describe('no open redirect through the broker (invariant 5)', () => {
  it('when each of the 559 payloads is used as returnTo at /bff/login, then it is refused (400) or the login ends on the broker origin', async () => {
    await expectLoginsStayHome(openRedirectPayloads())
  }, 120_000)

  it('when each payload is used as the logout returnTo, then it is refused or the redirect stays on the broker origin', async () => {
    await expectLogoutsStayHome(openRedirectPayloads())
  }, 120_000)

  it('when a returnTo at /bff/login holds dot-segments (plain, %2e, mixed, with \\, tabs, newlines), then it is refused or the login ends on the broker origin', async () => {
    await expectLoginsStayHome(dotSegmentPayloads())
  }, 120_000)

  it('when a logout returnTo holds dot-segments, then it is refused or the redirect stays on the broker origin', async () => {
    await expectLogoutsStayHome(dotSegmentPayloads())
  }, 120_000)

  it('when returnTo is /.//evil.example, then /bff/login refuses it with 400 (it would resolve to //evil.example)', async () => {
    const res = await createBrowser().get(`${broker.origin}/bff/login?returnTo=${encodeURIComponent('/.//evil.example')}`)
    expect(res.status).toBe(400)
  })
})
