import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBrowser, login, startBrokerWithUpstream, type TestBroker } from '../../support/start-app.js'
import { TEST_CLIENT_SECRET } from '../../support/oidc-provider.js'
import type { Upstream } from '../../support/upstream.js'
import { findSample, samples } from '../../support/prometheus.js'

// /metrics is what an operator scrapes (docs/architecture.md "Who uses it"): Prometheus text, request counts by route, login
// outcomes, process metrics, and never a secret.

let broker: TestBroker
let upstream: Upstream
let stop: () => Promise<void>

beforeAll(async () => {
  ;({ broker, upstream, stop } = await startBrokerWithUpstream((url) => ({
    name: 'metrics',
    config: { apis: [{ path: '/api/echo', target: `${url}/echo`, token: 'user' }] },
  })))
})
afterAll(() => stop?.())

const find = findSample

describe('/metrics', () => {
  it('when requests and a login happened, then /metrics is Prometheus text with counts by route, login outcomes and process metrics, and holds no secret', async () => {
    const b = createBrowser()
    for (let i = 0; i < 3; i++) expect((await b.get(`${broker.origin}/healthz`, { xhr: true })).status).toBe(200)
    expect((await b.get(`${broker.origin}/bff/user`, { xhr: true, headers: { 'x-csrf': '1' } })).status).toBe(401)
    const loginCookie = (await b.get(`${broker.origin}/bff/login`)).headers['set-cookie']
    const { callbackUrl, res } = await login(b, broker)
    expect(res.status).toBe(302)
    const api = await b.get(`${broker.origin}/api/echo/items`, { xhr: true, headers: { 'x-csrf': '1' } })
    expect(api.status).toBe(200)

    const scrape = await createBrowser().get(`${broker.origin}/metrics`, { xhr: true })
    expect(scrape.status).toBe(200)
    expect(scrape.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/)
    expect(scrape.body).toContain('# TYPE bff_http_requests_total counter')
    const all = samples(scrape.body)

    expect(find(all, 'bff_http_requests_total', { route: 'healthz', method: 'GET', status: '200' })?.value).toBeGreaterThanOrEqual(3)
    expect(find(all, 'bff_http_requests_total', { route: 'user', method: 'GET', status: '401' })?.value).toBe(1)
    expect(find(all, 'bff_http_requests_total', { route: 'callback', method: 'GET', status: '302' })?.value).toBe(1)
    expect(find(all, 'bff_http_requests_total', { route: '/api/echo', method: 'GET', status: '200' })?.value).toBe(1)
    // routes are a closed set: no raw path (ids, query strings) becomes a label value
    const routes = new Set(all.filter((s) => s.name === 'bff_http_requests_total').map((s) => s.labels.route))
    expect([...routes].filter((r) => r?.includes('items') || r?.includes('?'))).toEqual([])
    expect(find(all, 'bff_http_request_duration_seconds_count', { route: 'healthz' })?.value).toBeGreaterThanOrEqual(3)

    expect(find(all, 'bff_logins_total', { outcome: 'success' })?.value).toBe(1)

    expect(find(all, 'bff_process_cpu_seconds_total', {})?.value).toBeGreaterThan(0)
    expect(find(all, 'bff_process_resident_memory_bytes', {}) ?? find(all, 'bff_nodejs_heap_size_used_bytes', {})).toBeDefined()

    // no secret of any kind: tokens the upstream received, cookies, the authorization code and state, the client secret
    const bearer = String(upstream.requests.at(-1)?.headers.authorization ?? '')
    expect(bearer).toMatch(/^Bearer \S{20,}/)
    const callback = new URL(callbackUrl)
    const secrets = [
      bearer.slice('Bearer '.length),
      b.cookie(broker.origin, 'bff-session'),
      // the first login is still pending: its login cookie (a sealed transaction) is in the jar
      b.cookies(broker.origin).find((c) => c.name.startsWith('bff-login.'))?.value,
      String(loginCookie ?? '').split(';')[0]?.split('=')[1],
      callback.searchParams.get('code'),
      callback.searchParams.get('state'),
      TEST_CLIENT_SECRET,
    ]
    for (const secret of secrets) {
      expect(secret).toBeTruthy()
      expect(scrape.body).not.toContain(secret!)
      expect(scrape.body).not.toContain(decodeURIComponent(secret!))
    }
  })

  it('when a client requests 50 random unknown /bff paths, then /metrics gains no route label value but other', async () => {
    const b = createBrowser()
    const routesNow = async () => {
      const scrape = await createBrowser().get(`${broker.origin}/metrics`, { xhr: true })
      return new Set(samples(scrape.body).filter((s) => s.name === 'bff_http_requests_total').map((s) => s.labels.route))
    }
    expect((await b.get(`${broker.origin}/bff/nothing-here`, { xhr: true })).status).toBe(404)
    const before = await routesNow()
    expect(before.has('other')).toBe(true)
    for (let i = 0; i < 50; i++) {
      const junk = Math.random().toString(36).slice(2)
      expect((await b.get(`${broker.origin}/bff/${junk}/x`, { xhr: true })).status).toBe(404)
    }
    expect([...(await routesNow())].filter((route) => !before.has(route) && route !== 'metrics')).toEqual([])
  })
})
