import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { setTimeout as sleep } from 'node:timers/promises'
import { createBrowser, login, startBrokerWithProvider, type TestBroker } from '../../support/start-app.js'
import type { Browser } from '../../support/browser.js'

let broker: TestBroker
let stop: () => Promise<void>
beforeAll(async () => {
  ;({ broker, stop } = await startBrokerWithProvider({
    name: 'timeouts',
    config: { session: { idleTimeoutSeconds: 2, absoluteTimeoutSeconds: 5 } },
  }))
})
afterAll(() => stop())

const user = (b: Browser) => b.get(`${broker.origin}/bff/user`, { xhr: true, headers: { 'x-csrf': '1' } })

describe('idle and absolute session timeouts', () => {
  it('when a session is unused for longer than the idle timeout, then it has ended', async () => {
    const b = createBrowser()
    await login(b, broker)
    expect((await user(b)).status).toBe(200)
    await sleep(3000)
    expect((await user(b)).status).toBe(401)
  })

  it('when a session is used more often than the idle timeout, then it lives on, until the absolute timeout ends it', async () => {
    const b = createBrowser()
    await login(b, broker)
    const started = Date.now()
    while (Date.now() - started < 4000) {
      expect((await user(b)).status).toBe(200)
      await sleep(800)
    }
    await sleep(Math.max(0, 5200 - (Date.now() - started)))
    const res = await user(b)
    expect(res.status).toBe(401)
  })
})
