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
  addEventListener(): void
}

async function runPage(answers: Response[]) {
  const elements = new Map<string, FakeElement>()
  const element = (id: string) => {
    if (!elements.has(id)) elements.set(id, { textContent: '', hidden: true, dataset: {}, addEventListener: () => undefined })
    return elements.get(id)!
  }
  const requested: string[] = []
  const delays: number[] = []
  const storage = { length: 0, key: () => null, getItem: () => null }
  const globals = {
    document: { getElementById: element, cookie: '' },
    fetch: async (path: string) => (requested.push(path), answers.shift() ?? json(500, {})),
    location: { pathname: '/', assign: () => undefined },
    localStorage: storage,
    sessionStorage: storage,
    setTimeout: (fn: () => void, ms: number) => (delays.push(ms), fn()),
  }
  new Function(...Object.keys(globals), source)(...Object.values(globals))
  await vi.waitFor(() => expect(answers).toHaveLength(0))
  await new Promise((resolve) => setTimeout(resolve, 10))
  return { text: (id: string) => element(id).textContent, shown: (id: string) => !element(id).hidden, requested, delays }
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
    expect(page.requested).toEqual(['/bff/user', '/bff/user', '/api/demo/orders'])
    expect(page.delays).toEqual([500])
    expect(page.text('status')).toBe('Logged in as alice.')
  })
})
