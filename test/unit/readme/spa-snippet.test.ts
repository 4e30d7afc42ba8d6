import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

// The README's "What the SPA does" block is code people copy: this test runs that very text (not a copy of it)
// against a fake fetch, location, sessionStorage and timer, so the snippet cannot drift from the broker's answers.

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8')

function snippet(): string {
  const section = readme.slice(readme.indexOf('### What the SPA does'))
  const block = /```html\n([\s\S]*?)```/.exec(section)?.[1] ?? ''
  const script = /<script type="module">\n([\s\S]*?)<\/script>/.exec(block)?.[1]
  if (!script) throw new Error('README: no <script type="module"> block under "What the SPA does"')
  return script
}

type Answer = Response | (() => Response)
const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8' } })
const broker = (status: number, error: string) => json(status, { error, message: 'from the broker' })

interface Page {
  api(path: string, init?: RequestInit): Promise<Response>
  calls: Array<{ path: string; headers: Headers }>
  /** the snippet's own requests as the module ran */
  startup: Array<{ path: string; headers: Headers }>
  assigned: string[]
  delays: number[]
  answer(...answers: Answer[]): void
}

/** Runs the snippet as the page's module would: the first two calls answer the snippet's own startup requests. */
async function loadPage(): Promise<Page> {
  const queue: Answer[] = [json(200, { sub: 'alice', logoutUrl: '/bff/logout?sid=x' }), json(200, [])]
  const page = { calls: [], assigned: [], delays: [] } as unknown as Page
  const fetch = async (path: string, init: RequestInit = {}) => {
    page.calls.push({ path, headers: new Headers(init.headers) })
    const next = queue.shift() ?? json(200, {})
    return typeof next === 'function' ? next() : next
  }
  const store = new Map<string, string>()
  const globals = {
    fetch,
    location: { pathname: '/orders', search: '?page=2', assign: (url: string) => page.assigned.push(url) },
    sessionStorage: { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => store.set(k, v) },
    setTimeout: (fn: () => void, ms: number) => (page.delays.push(ms), fn()),
    document: { querySelector: () => ({}) },
  }
  const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (...args: string[]) => (
    ...values: unknown[]
  ) => Promise<{ api: Page['api'] }>
  const run = new AsyncFunction(...Object.keys(globals), `${snippet()}\nreturn { api }`)
  page.api = (await run(...Object.values(globals))).api
  page.answer = (...answers) => queue.push(...answers)
  page.startup = page.calls.splice(0)
  return page
}

describe('README SPA snippet', () => {
  it('when the page loads, then it fetches /bff/user and the API with X-CSRF: 1', async () => {
    const page = await loadPage()
    expect(page.startup.map((c) => c.path)).toEqual(['/bff/user', '/api/orders'])
    for (const call of page.startup) expect(call.headers.get('x-csrf')).toBe('1')
    expect(page.assigned).toEqual([])
  })

  it('when an upstream API answers 401, then the snippet returns it and does not send the browser to log in', async () => {
    const page = await loadPage()
    page.answer(json(401, { error: 'invalid_token' }), new Response('nope', { status: 401 }))
    expect((await page.api('/api/orders')).status).toBe(401)
    expect((await page.api('/api/orders')).status).toBe(401)
    expect(page.assigned).toEqual([])
  })

  it.each(['unauthorized', 'session_expired'])('when the broker answers 401 %s, then the browser goes to the login and comes back here', async (code) => {
    const page = await loadPage()
    page.answer(broker(401, code))
    await expect(page.api('/api/orders')).rejects.toThrow(/login required/)
    expect(page.assigned).toEqual([`/bff/login?returnTo=${encodeURIComponent('/orders?page=2')}`])
  })

  it('when the broker still answers 401 right after a login, then the snippet stops instead of looping', async () => {
    const page = await loadPage()
    page.answer(broker(401, 'unauthorized'), broker(401, 'unauthorized'))
    await expect(page.api('/bff/user')).rejects.toThrow(/login required/)
    await expect(page.api('/bff/user')).rejects.toThrow(/cookie/)
    expect(page.assigned).toHaveLength(1)
  })

  it('when the broker answers 503 and then 200, then the snippet retries with growing delays and returns the 200', async () => {
    const page = await loadPage()
    page.answer(broker(503, 'session_store_unavailable'), broker(503, 'idp_unavailable'), json(200, { ok: true }))
    const res = await page.api('/api/orders', { method: 'POST', body: '{}' })
    expect(res.status).toBe(200)
    expect(page.calls).toHaveLength(3)
    expect(page.delays).toEqual([500, 1000])
  })

  it('when the broker keeps answering 503, then the retries are bounded and the 503 is returned', async () => {
    const page = await loadPage()
    page.answer(...Array.from({ length: 10 }, () => () => broker(503, 'session_store_unavailable')))
    expect((await page.api('/api/orders')).status).toBe(503)
    expect(page.calls).toHaveLength(4)
    expect(page.assigned).toEqual([])
  })

  it('when an upstream answers 503 itself, then the snippet does not repeat the request', async () => {
    const page = await loadPage()
    page.answer(new Response('busy', { status: 503 }))
    expect((await page.api('/api/orders', { method: 'POST', body: 'x' })).status).toBe(503)
    expect(page.calls).toHaveLength(1)
  })

  it.each([
    ['a Headers object', new Headers({ 'Content-Type': 'application/json' })],
    ['an array of pairs', [['Content-Type', 'application/json']] as [string, string][]],
    ['a plain object', { 'Content-Type': 'application/json' }],
  ])('when init.headers is %s, then the request keeps it and adds X-CSRF: 1', async (_what, headers) => {
    const page = await loadPage()
    await page.api('/api/orders', { method: 'POST', headers, body: '{}' })
    expect(page.calls[0]?.headers.get('content-type')).toBe('application/json')
    expect(page.calls[0]?.headers.get('x-csrf')).toBe('1')
  })
})
