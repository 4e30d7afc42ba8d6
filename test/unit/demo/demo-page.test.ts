import { readFileSync } from 'node:fs'
import { describe, expect, it, vi } from 'vitest'

// The demo page's script (src/demo/public/demo.js) follows the README snippet's rules: only the broker's own 401
// ends the session on the page, an API's own 401 is shown as that API's answer, and the broker's 503 is retried.
// The file runs as written against a fake DOM and fetch.

const source = readFileSync(new URL('../../../src/demo/public/demo.js', import.meta.url), 'utf8')

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8' } })
const alice = () => json(200, { sub: 'alice', name: 'Alice', logoutUrl: '/bff/logout?sid=x', sessionExpiresAt: 1 })

interface FakeElement {
  textContent: string
  hidden: boolean
  dataset: Record<string, string>
  children: FakeElement[]
  clicks: Array<() => void>
  addEventListener(type: string, handler: () => void): void
  replaceChildren(...children: FakeElement[]): void
  append(...children: FakeElement[]): void
}

const fakeElement = (): FakeElement => {
  const el: FakeElement = {
    textContent: '', hidden: true, dataset: {}, children: [], clicks: [],
    addEventListener: (type, handler) => void (type === 'click' && el.clicks.push(handler)),
    replaceChildren: (...children) => void (el.children = children),
    append: (...children) => void el.children.push(...children),
  }
  return el
}

async function runPage(answers: Response[]) {
  const elements = new Map<string, FakeElement>()
  const element = (id: string) => {
    if (!elements.has(id)) elements.set(id, fakeElement())
    return elements.get(id)!
  }
  const requested: string[] = []
  const calls: Array<{ path: string; method: string; csrf: string | null }> = []
  const delays: number[] = []
  const storage = { length: 0, key: () => null, getItem: () => null }
  const globals = {
    document: { getElementById: element, cookie: '', createElement: () => fakeElement() },
    fetch: async (path: string, init?: { method?: string; headers?: Headers }) => {
      requested.push(path)
      calls.push({ path, method: init?.method ?? 'GET', csrf: init?.headers?.get('x-csrf') ?? null })
      return answers.shift() ?? json(500, {})
    },
    location: { pathname: '/', assign: () => undefined },
    localStorage: storage,
    sessionStorage: storage,
    setTimeout: (fn: () => void, ms: number) => (delays.push(ms), fn()),
  }
  new Function(...Object.keys(globals), source)(...Object.values(globals))
  await vi.waitFor(() => expect(answers).toHaveLength(0))
  await new Promise((resolve) => setTimeout(resolve, 10))
  return { text: (id: string) => element(id).textContent, shown: (id: string) => !element(id).hidden, element, requested, calls, delays }
}

describe('demo page script', () => {
  it('when the demo API answers 401 of its own, then the page stays logged in and shows the API answer', async () => {
    const page = await runPage([alice(), json(401, { error: 'invalid_token' })])
    expect(page.shown('logged-in')).toBe(true)
    expect(page.text('api-status')).toBe('HTTP 401')
    expect(page.text('api-answer')).toContain('invalid_token')
  })

  it('when the broker answers 401 session_expired to the API call, then the page shows the session has ended', async () => {
    const page = await runPage([alice(), json(401, { error: 'session_expired', message: 'x' })])
    expect(page.shown('logged-out')).toBe(true)
    expect(page.text('status')).toMatch(/session has ended/)
  })

  it('when the broker answers 503 to /bff/user once, then the page retries and logs in', async () => {
    const page = await runPage([json(503, { error: 'session_store_unavailable' }), alice(), json(200, [])])
    expect(page.requested).toEqual(['/bff/user', '/bff/user', '/api/demo/orders', '/bff/sessions'])
    expect(page.delays).toEqual([500])
    expect(page.text('status')).toBe('Logged in as alice.')
  })

  it('when the sessions and grants load, then each gets a button that DELETEs it by id with the CSRF header', async () => {
    const listing = {
      sessions: [
        { id: 'S1', kind: 'browser', current: true, createdAt: 1, lastUsedAt: 2, userAgent: 'Firefox' },
        { id: 'S2', kind: 'mobile', current: false, createdAt: 1, lastUsedAt: 2, clientId: 'com.example.demo' },
      ],
      grants: [{ id: 'G1', kind: 'offline', createdAt: 1, lastUsedAt: 2, scopes: ['openid', 'offline_access'] }],
    }
    const page = await runPage([alice(), json(200, []), json(200, listing)])
    const sessions = page.element('sessions').children
    expect(sessions.map((li) => li.children[0]!.textContent)).toEqual([expect.stringContaining('(this one)'), expect.stringContaining('mobile app com.example.demo')])
    const grants = page.element('grants').children
    expect(grants[0]!.children[0]!.textContent).toContain('offline_access')
    sessions[1]!.children[1]!.clicks[0]!()
    grants[0]!.children[1]!.clicks[0]!()
    await vi.waitFor(() => expect(page.calls.filter((c) => c.method === 'DELETE')).toHaveLength(2))
    expect(page.calls.filter((c) => c.method === 'DELETE')).toEqual([
      { path: '/bff/sessions/S2', method: 'DELETE', csrf: '1' },
      { path: '/bff/grants/G1', method: 'DELETE', csrf: '1' },
    ])
  })
})
