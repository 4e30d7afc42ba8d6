import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestBroker } from '../../support/start-app.js'
import type { RunningOidcProvider } from '../../support/oidc-provider.js'
import type { Upstream } from '../../support/upstream.js'
import { createTestClock } from '../../support/clock.js'
import { asJob, browserLogin, jobToken, listSessions, offlineConfig, startClockedInstances, userStatus, xhr } from './offline.js'
import type { Browser } from '../../support/browser.js'
import { athFor, createMobileClient, makeProof, type MobileClient } from '../../../examples/mobile-client.js'
import { APP_REDIRECT, DPOP_APP, mobileConfig, mobileLogin } from '../../support/mobile.js'

// Two broker instances sharing one Redis and one clock: a job and a browser on one offline grant meet its expiry
// together (invariant 10, whichever kind of caller asks), and a revocation on one instance holds on the other (18).

const ACCESS_TTL = 60
// one clock for both instances and their provider clients: the token's expiry is reached by advancing it, not waiting
const clock = createTestClock()
let a: TestBroker
let b: TestBroker
let idp: RunningOidcProvider
let upstream: Upstream
let stop: () => Promise<void>
beforeAll(async () => {
  let brokers: TestBroker[]
  ;({ brokers, idp, upstream, stop } = await startClockedInstances({
    name: 'jobs-instances',
    count: 2,
    clock,
    idp: { accessTokenTtlSeconds: ACCESS_TTL, rotateRefreshToken: true },
    config: (url) => ({ ...offlineConfig(url), mobile: mobileConfig() }),
  }))
  ;[a, b] = brokers as [TestBroker, TestBroker]
})
afterAll(() => stop?.())

/** the browser's session cookie, as sent to the other instance (same site behind a load balancer) */
function onInstance(browser: Browser, from: TestBroker, to: TestBroker): Browser {
  const cookie = browser.cookie(from.origin, from.config.session.cookieName)!
  browser.setCookie(to.origin, `${to.config.session.cookieName}=${cookie}; Path=/; HttpOnly; SameSite=Strict`)
  return browser
}

/** a DPoP call with the app's handle on any instance: the proof names that instance's URL (htu) and the shared clock's time */
async function withHandleOn(broker: TestBroker, app: MobileClient, path: string): Promise<Response> {
  const handle = app.session!.accessToken
  const url = `${broker.origin}${path}`
  const htu = new URL(url)
  htu.search = ''
  const proof = await makeProof(app.key!, { htm: 'GET', htu: htu.href, iat: Math.floor(clock.now() / 1000), ath: athFor(handle) })
  return fetch(url, { headers: { authorization: `DPoP ${handle}`, dpop: proof } })
}

describe('jobs and browsers across broker instances', () => {
  it('when a job on instance A and the browser on instance B hit the access-token expiry together, then exactly one refresh runs and every call succeeds', async () => {
    const browser = onInstance(await browserLogin(a, { user: 'bob', offline: true }), a, b)
    const job = await jobToken(b, 'nightly')
    expect((await asJob(a, job, '/api/orders/0', { sub: 'bob' })).status).toBe(200)
    const first = upstream.requests.at(-1)!.headers.authorization
    clock.advance((ACCESS_TTL + 1) * 1000)
    const refreshes = idp.counts.refreshTokenGrants
    const errors = idp.counts.grantErrors
    const calls = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        i % 2
          ? asJob(a, job, `/api/orders/${i}`, { sub: 'bob' }).then((r) => r.status)
          : browser.get(`${b.origin}/api/orders/${i}`, xhr).then((r) => r.status),
      ),
    )
    expect(calls).toEqual(Array(12).fill(200))
    expect(idp.counts.refreshTokenGrants - refreshes).toBe(1)
    expect(idp.counts.grantErrors).toBe(errors)
    const bearers = new Set(upstream.requests.slice(-12).map((r) => r.headers.authorization))
    expect(bearers.size).toBe(1)
    expect(bearers.has(first)).toBe(false)
  })

  it('when a user signs a session out on instance A (DELETE /bff/sessions/:id), then that session is refused on instance B at its next request', async () => {
    const phone = onInstance(await browserLogin(a), a, b)
    const laptop = await browserLogin(a)
    expect(await userStatus(b, phone)).toBe(200)
    expect((await phone.get(`${b.origin}/api/orders/1`, xhr)).status).toBe(200)
    const phoneId = (await listSessions(b, phone)).sessions.find((s) => s.current)!.id
    const del = await laptop.request(`${a.origin}/bff/sessions/${phoneId}`, { method: 'DELETE', ...xhr })
    expect(del.status).toBe(204)
    const seen = upstream.requests.length
    expect((await phone.get(`${b.origin}/api/orders/1`, xhr)).status).toBe(401)
    expect(await userStatus(b, phone)).toBe(401)
    expect(upstream.requests.length).toBe(seen)
    expect(await userStatus(a, laptop)).toBe(200)
  })

  it('when an admin ends a mobile session on instance A, then its handle is refused on instance B at its next request', async () => {
    // the app's proofs are dated by the instances' clock (their iat is checked against it)
    const app = createMobileClient({ brokerUrl: a.origin, clientId: DPOP_APP, redirectUri: APP_REDIRECT, now: () => clock.now() })
    await mobileLogin(a, app, { user: 'bob' })
    expect((await withHandleOn(b, app, '/bff/user')).status).toBe(200)
    const ops = await jobToken(a, 'ops')
    const listed = (await (await asJob(a, ops, '/bff/admin/users/bob/sessions')).json()) as { sessions: Array<{ id: string; kind: string }> }
    const mobile = listed.sessions.find((s) => s.kind === 'mobile')!
    expect((await asJob(a, ops, `/bff/admin/sessions/${mobile.id}`, { method: 'DELETE' })).status).toBe(204)
    const seen = upstream.requests.length
    expect((await withHandleOn(b, app, '/api/orders/1')).status).toBe(401)
    expect((await withHandleOn(b, app, '/bff/user')).status).toBe(401)
    expect(upstream.requests.length).toBe(seen)
  })

  it('when the offline grant that served a job on instance A is superseded or revoked on instance B, then A\'s next job call uses the grant the user now has', async () => {
    const grantOfLastCall = () => a.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.event === 'job.call').at(-1)?.grant
    const job = await jobToken(a, 'nightly')
    const call = (n: number) => asJob(a, job, `/api/orders/${n}`, { sub: 'alice' })
    const older = onInstance(await browserLogin(a, { offline: true }), a, b)
    const o = (await listSessions(b, older)).grants[0]!.id
    expect((await call(1)).status).toBe(200)
    expect((await call(2)).status).toBe(200)
    expect(grantOfLastCall()).toBe(o)

    // a newer offline login on B: A, which remembers the older grant, must switch to the newest (DESIGN: newest serves)
    clock.advance(1000)
    const newer = onInstance(await browserLogin(a, { offline: true }), a, b)
    const n = (await listSessions(b, newer)).grants[0]!.id
    expect(n).not.toBe(o)
    expect((await call(3)).status).toBe(200)
    expect(grantOfLastCall()).toBe(n)

    // the user revokes the newest on B: A's next call is served by the older one, never by the revoked grant
    expect((await newer.request(`${b.origin}/bff/grants/${n}`, { method: 'DELETE', ...xhr })).status).toBe(204)
    expect((await call(4)).status).toBe(200)
    expect(grantOfLastCall()).toBe(o)

    // and once the older is revoked too, nothing is left: 403 no_offline_grant, nothing upstream
    expect((await older.request(`${b.origin}/bff/grants/${o}`, { method: 'DELETE', ...xhr })).status).toBe(204)
    const seen = upstream.requests.length
    const last = await call(5)
    expect(last.status).toBe(403)
    expect(await last.json()).toMatchObject({ error: 'no_offline_grant' })
    expect(upstream.requests.length).toBe(seen)
  })

  it('when a user revokes an offline grant on instance A, then a job that used it on instance B a moment ago gets 403 no_offline_grant there, and the session on it is refused on B', async () => {
    const browser = onInstance(await browserLogin(a, { user: 'alice', offline: true }), a, b)
    const job = await jobToken(b, 'nightly')
    expect((await asJob(b, job, '/api/orders/1', { sub: 'alice' })).status).toBe(200)
    expect(await userStatus(b, browser)).toBe(200)
    // alice's only offline grant (an older one would serve on: the newest usable one serves)
    const grants = (await listSessions(a, browser)).grants
    expect(grants).toHaveLength(1)
    const grant = grants[0]!.id
    expect((await browser.request(`${a.origin}/bff/grants/${grant}`, { method: 'DELETE', ...xhr })).status).toBe(204)
    const seen = upstream.requests.length
    const after = await asJob(b, job, '/api/orders/2', { sub: 'alice' })
    expect(after.status).toBe(403)
    expect(await after.json()).toMatchObject({ error: 'no_offline_grant' })
    expect(await userStatus(b, browser)).toBe(401)
    expect(upstream.requests.length).toBe(seen)
  })

  it('when an admin signs a user out everywhere on instance A, then the user\'s browser and the job acting for them are refused on instance B at their next request', async () => {
    const browser = onInstance(await browserLogin(a, { user: 'bob', offline: true }), a, b)
    const job = await jobToken(b, 'nightly')
    expect((await asJob(b, job, '/api/orders/1', { sub: 'bob' })).status).toBe(200)
    expect((await browser.get(`${b.origin}/api/orders/1`, xhr)).status).toBe(200)
    const ended = await asJob(a, await jobToken(a, 'ops'), '/bff/admin/users/bob/sessions', { method: 'DELETE' })
    expect(ended.status).toBe(200)
    const counts = (await ended.json()) as { sessions: number; grants: number }
    expect(counts.sessions).toBeGreaterThanOrEqual(1)
    expect(counts.grants).toBeGreaterThanOrEqual(1)
    const seen = upstream.requests.length
    expect((await browser.get(`${b.origin}/api/orders/2`, xhr)).status).toBe(401)
    expect((await asJob(b, job, '/api/orders/2', { sub: 'bob' })).status).toBe(403)
    expect(upstream.requests.length).toBe(seen)
  })
})
