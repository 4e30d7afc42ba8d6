import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createBrowser, login, startBrokerWithUpstream, startTestBroker, type TestBroker } from '../../support/start-app.js'
import { completeProviderLogout, type Browser } from '../../support/browser.js'
import type { RunningOidcProvider } from '../../support/oidc-provider.js'
import { openWebSocket, type HeldWebSocket } from '../../support/websocket.js'
import { createTestClock } from '../../support/clock.js'

// Open WebSocket tunnels end with their session: logout (here or on another instance), back-channel logout, the
// absolute timeout, and the route's websocketMaxLifetimeSeconds.

const absoluteTimeoutSeconds = 3000 // below the default route lifetime (3600)
const clock = createTestClock()
let a: TestBroker
let b: TestBroker
let idp: RunningOidcProvider
let stop: () => Promise<void>
const held: HeldWebSocket[] = []

const apis = (url: string) => [
  { path: '/api/ws', target: `${url}/ws`, token: 'user', websocket: true },
  { path: '/api/ws-short', target: `${url}/ws`, token: 'user', websocket: true, websocketMaxLifetimeSeconds: 60 },
]

beforeAll(async () => {
  let upstreamUrl = ''
  ;({ broker: a, idp, stop } = await startBrokerWithUpstream((url) => {
    upstreamUrl = url
    return {
      name: 'websocket-session',
      clock,
      // instance A runs its checks only when a test says so (sweep()), instance B on a 1 s timer
      config: { apis: apis(url), session: { absoluteTimeoutSeconds, websocketCheckSeconds: 3600 } },
    }
  }))
  b = await startTestBroker({
    name: 'websocket-session-b',
    issuer: idp.issuer,
    config: { apis: apis(upstreamUrl), redis: { keyPrefix: a.prefix }, session: { absoluteTimeoutSeconds, websocketCheckSeconds: 1 } },
  })
})
// each test's tunnels end with it, so a later clock advance closes only its own
afterEach(() => held.splice(0).forEach((ws) => ws.destroy()))
afterAll(async () => {
  await b?.stop()
  await stop?.()
})

const sessionCookie = (browser: Browser) => `bff-session=${browser.cookie(a.origin, 'bff-session')}`
async function tunnel(browser: Browser, broker: TestBroker, path = '/api/ws/feed') {
  const ws = await openWebSocket(`${broker.origin}${path}`, { Origin: broker.origin, Cookie: sessionCookie(browser) })
  held.push(ws)
  expect(ws.status).toBe(101)
  await ws.roundTrip('before')
  return ws
}
const logout = async (browser: Browser) => {
  const user = await browser.get(`${a.origin}/bff/user`, { xhr: true, headers: { 'x-csrf': '1' } })
  const res = await browser.get(`${a.origin}${JSON.parse(user.body).logoutUrl as string}`, { site: 'same-origin' })
  expect(res.status).toBe(302)
}
const closedLogs = (broker: TestBroker, reason: string) =>
  broker.logs.filter((l) => l.includes('"proxy.websocket_closed"') && l.includes(`"reason":"${reason}"`)).length

describe('WebSocket tunnels end with their session', () => {
  it('when the user logs out on the same instance, then the open tunnel is closed at once and a new one is refused', async () => {
    const user = createBrowser()
    await login(user, a)
    const ws = await tunnel(user, a)
    const cookie = sessionCookie(user)
    await logout(user)
    await ws.closed(2000)
    expect(closedLogs(a, 'session_ended')).toBeGreaterThan(0)
    const again = await openWebSocket(`${a.origin}/api/ws/feed`, { Origin: a.origin, Cookie: cookie })
    held.push(again)
    expect(again.status).toBe(401)
  })

  it('when the user logs out on instance A, then the tunnel held by instance B is closed within a check interval', async () => {
    const user = createBrowser()
    await login(user, a)
    const ws = await tunnel(user, b)
    const sessionId = decodeURIComponent(user.cookie(a.origin, 'bff-session') ?? '').slice(2).split('.')[0]!
    const started = Date.now()
    await logout(user)
    await ws.closed(5000)
    // B checks every second; allow for a loaded machine, but far below the session's own lifetime
    expect(Date.now() - started).toBeLessThan(3000)
    expect(closedLogs(b, 'session_ended')).toBeGreaterThan(0)
    // no session id in the log line: it is the cookie's secret
    expect(b.logs.some((l) => l.includes(sessionId))).toBe(false)
  })

  it('when the provider sends a back-channel logout, then the tunnels of that session close and those of other users stay', async () => {
    const alice = createBrowser()
    await login(alice, a)
    const bob = createBrowser()
    await login(bob, a, { user: 'bob' })
    const aliceWs = await tunnel(alice, a)
    const bobWs = await tunnel(bob, a)
    await completeProviderLogout(alice, new URL('/session/end', idp.issuer))
    await aliceWs.closed(5000)
    await a.broker.sessionWatch.sweep()
    await bobWs.roundTrip('bob still here')
    expect(bobWs.isClosed()).toBe(false)
  })

  it('when a check runs while the session is alive, then the tunnel stays open and keeps carrying data', async () => {
    const user = createBrowser()
    await login(user, a)
    const ws = await tunnel(user, a)
    await a.broker.sessionWatch.sweep()
    await a.broker.sessionWatch.sweep()
    await ws.roundTrip('after two checks')
    expect(ws.isClosed()).toBe(false)
  })

  it("when a tunnel reaches its route's websocketMaxLifetimeSeconds, then it is closed, though the session lives on", async () => {
    const user = createBrowser()
    await login(user, a)
    const ws = await tunnel(user, a, '/api/ws-short/feed')
    clock.advance(59_000)
    await a.broker.sessionWatch.sweep()
    await ws.roundTrip('at 59 s')
    clock.advance(2_000)
    await a.broker.sessionWatch.sweep()
    await ws.closed(2000)
    expect(closedLogs(a, 'max_lifetime')).toBe(1)
    expect((await user.get(`${a.origin}/bff/user`, { xhr: true, headers: { 'x-csrf': '1' } })).status).toBe(200)
  })

  it("when the session reaches its absolute timeout before the route's lifetime, then the tunnel is closed then", async () => {
    const user = createBrowser()
    await login(user, a)
    const ws = await tunnel(user, a)
    clock.advance((absoluteTimeoutSeconds - 1) * 1000)
    await a.broker.sessionWatch.sweep()
    await ws.roundTrip('a second before the end')
    clock.advance(2_000)
    await a.broker.sessionWatch.sweep()
    await ws.closed(2000)
    expect(closedLogs(a, 'absolute_timeout')).toBe(1)
  })
})
