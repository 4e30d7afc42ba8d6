import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { setTimeout as sleep } from 'node:timers/promises'
import { createBrowser, login, startBrokerWithProvider, type TestBroker } from '../../support/start-app.js'
import type { Browser } from '../../support/browser.js'
import { createOffsetClock } from '../../support/clock.js'

// The idle timeout is the session record's Redis TTL (real time: the test waits for it); the absolute timeout is
// the broker's own deadline, reached by moving its clock.
const IDLE = 2
const ABSOLUTE = 7
const clock = createOffsetClock()
let broker: TestBroker
let stop: () => Promise<void>
beforeAll(async () => {
  ;({ broker, stop } = await startBrokerWithProvider({
    name: 'timeouts',
    clock,
    config: { session: { idleTimeoutSeconds: IDLE, absoluteTimeoutSeconds: ABSOLUTE } },
  }))
})
afterAll(() => stop())

const user = (b: Browser) => b.get(`${broker.origin}/bff/user`, { xhr: true, headers: { 'x-csrf': '1' } })

describe('idle and absolute session timeouts', () => {
  it('when a session is unused for longer than the idle timeout, then it has ended', async () => {
    const b = createBrowser()
    await login(b, broker)
    expect((await user(b)).status).toBe(200)
    await sleep(IDLE * 1000 + 1200)
    expect((await user(b)).status).toBe(401)
  })

  it('when a session is used more often than the idle timeout, then it lives on, until the absolute timeout ends it', async () => {
    const b = createBrowser()
    await login(b, broker)
    const started = Date.now()
    // used every 0.5 s for longer than the idle timeout: still alive
    while (Date.now() - started < IDLE * 1000 + 1000) {
      expect((await user(b)).status).toBe(200)
      await sleep(500)
    }
    // the absolute timeout ends it whatever the activity
    clock.advance(ABSOLUTE * 1000)
    const res = await user(b)
    expect([res.status, JSON.parse(res.body).error]).toEqual([401, 'session_expired'])
  })
})
