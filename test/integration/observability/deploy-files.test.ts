import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { createBrowser, login, startBrokerWithUpstream, type TestBroker } from '../../support/start-app.js'
import { families, findSample, isExported, samples } from '../../support/prometheus.js'
import { createTestClock } from '../../support/clock.js'

// deploy/prometheus/alerts.yml and deploy/grafana/bff-broker.json are shipped examples: a metric they name that the
// broker does not export is an alert that never fires or a panel that stays empty, so every name is checked here
// against a real scrape.

const clock = createTestClock()
let broker: TestBroker
let stop: () => Promise<void>

beforeAll(async () => {
  ;({ broker, stop } = await startBrokerWithUpstream((url) => ({
    name: 'deploy-files',
    clock,
    config: {
      apis: [
        { path: '/api/user', target: `${url}/echo`, token: 'user' },
        { path: '/api/app', target: `${url}/echo`, token: 'client' },
      ],
    },
  })))
})
afterAll(() => stop?.())

const read = (path: string) => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8')
const metricNames = (text: string) => [...new Set(text.match(/\bbff_[a-zA-Z0-9_:]+/g) ?? [])].sort()

/** A login, API calls with a user and an application token, a refresh, a refused call and a logout. */
async function journey() {
  const b = createBrowser()
  const xhr = { xhr: true, headers: { 'x-csrf': '1' } }
  await login(b, broker)
  expect((await b.get(`${broker.origin}/api/user/a`, xhr)).status).toBe(200)
  expect((await b.get(`${broker.origin}/api/app/a`, xhr)).status).toBe(200)
  expect((await b.get(`${broker.origin}/api/app/b`, xhr)).status).toBe(200)
  expect((await b.get(`${broker.origin}/api/user/a`, { xhr: true })).status).toBe(403)
  clock.advance(3_600_000) // past the access token's expiry: the next call refreshes
  expect((await b.get(`${broker.origin}/api/user/a`, xhr)).status).toBe(200)
  const { logoutUrl } = JSON.parse((await b.get(`${broker.origin}/bff/user`, xhr)).body) as { logoutUrl: string }
  expect((await b.get(`${broker.origin}${logoutUrl}`, { site: 'same-origin' })).status).toBe(302)
}

describe('shipped Prometheus alerts and Grafana dashboard', () => {
  it('when the suffix rules are applied, then only real series of a declared family resolve', () => {
    const declared = new Map([['bff_a_total', 'counter'], ['bff_h_seconds', 'histogram'], ['bff_g', 'gauge'], ['bff_c', 'counter']])
    expect(['bff_a_total', 'bff_h_seconds_bucket', 'bff_h_seconds_sum', 'bff_h_seconds_count', 'bff_g', 'bff_c_total']
      .every((n) => isExported(n, declared))).toBe(true)
    expect(['bff_a', 'bff_a_total_count', 'bff_g_bucket', 'bff_g_total', 'bff_h', 'bff_c_sum']
      .some((n) => isExported(n, declared))).toBe(false)
  })

  it('when a short journey ran, then every bff_ metric the alert rules and the dashboard name is in /metrics', async () => {
    const alerts = read('deploy/prometheus/alerts.yml')
    const dashboard = read('deploy/grafana/bff-broker.json')
    const rules = (parseYaml(alerts) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> }).groups.flatMap((g) => g.rules)
    expect(rules.map((r) => r.alert)).toEqual(expect.arrayContaining([
      'BffRedisUnavailable', 'BffHigh5xxRate', 'BffTokenRefreshFailures', 'BffInvalidGrantSpike', 'BffDpopRejections',
    ]))
    const panels = (JSON.parse(dashboard) as { panels: Array<{ targets: Array<{ expr: string }> }> }).panels
    expect(panels.flatMap((p) => p.targets).every((t) => t.expr.includes('bff_'))).toBe(true)

    await journey()
    const scrape = await createBrowser().get(`${broker.origin}/metrics`, { xhr: true })
    expect(scrape.status).toBe(200)
    const declared = families(scrape.body)
    const named = metricNames(`${alerts}\n${dashboard}`)
    expect(named).toEqual(expect.arrayContaining(['bff_redis_up', 'bff_token_refreshes_total', 'bff_session_ends_total']))
    expect(named.filter((name) => !isExported(name, declared))).toEqual([])

    // the journey's own events, counted by what they were
    const all = samples(scrape.body)
    expect(findSample(all, 'bff_redis_up', {})?.value).toBe(1)
    expect(findSample(all, 'bff_token_refreshes_total', { outcome: 'ok' })?.value).toBe(1)
    expect(findSample(all, 'bff_token_lock_wait_seconds_count', { lock: 'grant', outcome: 'acquired' })?.value).toBe(1)
    expect(findSample(all, 'bff_client_credentials_cache_total', { result: 'miss' })?.value).toBe(1)
    expect(findSample(all, 'bff_client_credentials_cache_total', { result: 'hit' })?.value).toBe(1)
    expect(findSample(all, 'bff_requests_rejected_total', { reason: 'csrf' })?.value).toBe(1)
    expect(findSample(all, 'bff_session_ends_total', { reason: 'logout' })?.value).toBe(1)
  })
})
