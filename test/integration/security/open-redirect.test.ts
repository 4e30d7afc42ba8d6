import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBrowser, login, startBrokerWithProvider, type TestBroker } from '../../support/start-app.js'
import { landsOn, openRedirectPayloads } from '../../support/open-redirects.js'

let broker: TestBroker
let stop: () => Promise<void>
beforeAll(async () => {
  ;({ broker, stop } = await startBrokerWithProvider({ name: 'open-redirect' }))
})
afterAll(() => stop())

describe('no open redirect through the broker (invariant 5)', () => {
  it('when each of the 559 payloads is used as returnTo at /bff/login, then it is refused (400) or the login ends on the broker origin', async () => {
    const accepted: string[] = []
    const b = createBrowser()
    for (const payload of openRedirectPayloads()) {
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
  }, 120_000)

  it('when each payload is used as the logout returnTo, then it is refused or the redirect stays on the broker origin', async () => {
    // returnTo is validated before anything else: without a session a refused payload is a 400, an accepted one a 302
    const accepted: string[] = []
    for (const payload of openRedirectPayloads()) {
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
      const post = new URL(res.location!).searchParams.get('post_logout_redirect_uri')!
      expect(landsOn(post, broker.origin), payload).toBe(broker.origin)
    }
  }, 120_000)
})
