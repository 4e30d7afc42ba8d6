import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBrowser, startBrokerWithProvider, type TestBroker } from '../../support/start-app.js'

// A refused navigation gets a page a person can read on a phone, under the broker's strict CSP; routine refusals
// (an anonymous /bff/user probe, a favicon miss) are not warnings in the log.

let broker: TestBroker
let stop: () => Promise<void>
beforeAll(async () => {
  ;({ broker, stop } = await startBrokerWithProvider({ name: 'error-pages' }))
})
afterAll(() => stop?.())

const cspOf = (headers: Record<string, string | string[]>) => String(headers['content-security-policy'] ?? '')

interface LogLine {
  level: string
  event?: string
  error?: string
  path?: string
}
const failures = (path: string, since: number) =>
  broker.logs
    .slice(since)
    .map((line) => JSON.parse(line) as LogLine)
    .filter((line) => line.event === 'http.request_failed' && line.path === path)

describe('HTML error pages', () => {
  it('when a navigation is refused, then the page has a human heading, the code small, a viewport, and its style is allowed only by its hash', async () => {
    const res = await createBrowser().get(`${broker.origin}/bff/login?returnTo=${encodeURIComponent('//evil.example/')}`)
    expect(res.status).toBe(400)
    expect(res.headers['content-type']).toMatch(/^text\/html/)
    expect(res.body).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">')
    expect(res.body).toMatch(/<h1>This link or request is not valid<\/h1>/)
    expect(res.body).not.toMatch(/<h1>invalid_request/)
    expect(res.body).toMatch(/<p class="code">Error 400 · invalid_request<\/p>/)

    const style = /<style>([\s\S]*?)<\/style>/.exec(res.body)?.[1]
    expect(style).toBeTruthy()
    const hash = createHash('sha256').update(style!).digest('base64')
    const csp = cspOf(res.headers)
    expect(csp).toContain(`style-src 'sha256-${hash}'`)
    expect(csp).toContain("default-src 'none'")
    expect(csp).toContain("frame-ancestors 'none'")
    expect(csp).not.toContain('unsafe-inline')
    expect(res.body).not.toMatch(/<script|style="/)
  })

  it('when the refusal is a JSON answer, then its CSP allows no style', async () => {
    const res = await createBrowser().get(`${broker.origin}/bff/user`, { xhr: true, headers: { 'x-csrf': '1' } })
    expect(res.status).toBe(401)
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    expect(cspOf(res.headers)).toContain("default-src 'none'")
    expect(cspOf(res.headers)).not.toContain('style-src')
  })
})

describe('log level of refusals', () => {
  it('when an anonymous page probes /bff/user and misses /favicon.ico, then neither is a warning, while a missing CSRF header is', async () => {
    const b = createBrowser()
    const since = broker.logs.length
    expect((await b.get(`${broker.origin}/bff/user`, { xhr: true, headers: { 'x-csrf': '1' } })).status).toBe(401)
    expect((await b.get(`${broker.origin}/favicon.ico`)).status).toBe(404)
    expect((await b.get(`${broker.origin}/bff/user`, { xhr: true })).status).toBe(403)

    const probes = [...failures('/bff/user', since).filter((l) => l.error === 'unauthorized'), ...failures('/favicon.ico', since)]
    expect(probes.map((l) => l.error).sort()).toEqual(['not_found', 'unauthorized'])
    for (const line of probes) expect(line.level, line.error).toBe('debug')
    const csrf = failures('/bff/user', since).filter((l) => l.error === 'csrf_failed')
    expect(csrf.map((l) => l.level)).toEqual(['warn'])
  })
})
