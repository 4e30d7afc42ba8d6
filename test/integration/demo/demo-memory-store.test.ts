import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDemoStack, type DemoStack } from '../../../src/demo/stack.js'
import { createBrowser, completeProviderLogin } from '../../support/browser.js'

// `npm start` without REDIS_URL: the demo keeps sessions, grants and locks in the process (memory-store.ts)
let stack: DemoStack
beforeAll(async () => {
  stack = await startDemoStack({})
})
afterAll(() => stack.stop())

describe('the demo without Redis', () => {
  it('when a newcomer logs in, calls the demo API and logs out, then every step works on the in-process store', async () => {
    const origin = stack.url.replace(/\/$/, '')
    const b = createBrowser()
    const start = await b.get(`${origin}/bff/login`)
    expect(start.status).toBe(302)
    const callback = await completeProviderLogin(b, start.location!, { login: 'bob', password: 'bob' })
    expect((await b.get(callback, { site: 'cross-site' })).status).toBe(302)
    const xhr = { xhr: true, headers: { 'x-csrf': '1' } }
    const me = await b.get(`${origin}/bff/user`, xhr)
    expect(JSON.parse(me.body).sub).toBe('bob')
    const orders = await b.get(`${origin}/api/demo/orders`, xhr)
    expect(orders.status).toBe(200)
    expect(JSON.parse(orders.body).sub).toBe('bob')
    const out = await b.get(`${origin}${JSON.parse(me.body).logoutUrl}`, { site: 'same-origin' })
    expect(out.status).toBe(302)
    expect((await b.get(`${origin}/api/demo/orders`, xhr)).status).toBe(401)
  })
})
