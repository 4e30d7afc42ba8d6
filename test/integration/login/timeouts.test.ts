import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { setTimeout as sleep } from 'node:timers/promises'
import { createBrowser, login, startBrokerWithProvider, type TestBroker } from '../../support/start-app.js'
import type { Browser } from '../../support/browser.js'

let broker: TestBroker
let stop: () => Promise<void>
beforeAll(async () => {
  ;({ broker, stop } = await startBrokerWithProvider({
    name: 'timeouts',
    config: { session: { idleTimeoutSeconds: 3, absoluteTimeoutSeconds: 7 } },
  }))
})
afterAll(() => stop())

const user = (b: Browser) => b.get(`${broker.origin}/bff/user`, { xhr: true, headers: { 'x-csrf': '1' } })

describe('idle and absolute session timeouts', () => {
  it('when a session is unused for longer than the idle timeout, then it has ended', async () => {
    const b = createBrowser()
    await login(b, broker)
    expect((await user(b)).status).toBe(200)
    await sleep(4200)
    expect((await user(b)).status).toBe(401)
  })

  it('when a session is used more often than the idle timeout, then it lives on, until the absolute timeout ends it', async () => {
    const b = createBrowser()
    await login(b, broker)
    const started = Date.now()
    // used every 0.5 s for longer than the idle timeout (3 s): still alive
    while (Date.now() - started < 5000) {
      expect((await user(b)).status).toBe(200)
      await sleep(500)
    }
    // the absolute timeout (7 s) ends it whatever the activity
    while (Date.now() - started < 7300) {
      await user(b)
      await sleep(500)
    }
    const res = await user(b)
    expect(res.status).toBe(401)
  })
})
