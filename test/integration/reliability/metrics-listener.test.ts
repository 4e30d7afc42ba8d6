import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBrokerWithProvider, type TestBroker } from '../../support/start-app.js'

// metrics.port (issue 11, item 12): /metrics on a listener of its own, loopback by default, 404 on the public one,
// started and stopped with the broker.

let broker: TestBroker
let stop: () => Promise<void>

beforeAll(async () => {
  ;({ broker, stop } = await startBrokerWithProvider({ name: 'metrics-listener', config: { metrics: { port: 0 } } }))
})
afterAll(() => stop?.())

describe('metrics.port', () => {
  it('when metrics.port is set, then /metrics is served on its own loopback listener and is a 404 on the main one', async () => {
    expect((await fetch(`${broker.origin}/healthz`)).status).toBe(200)
    const main = await fetch(`${broker.origin}/metrics`)
    expect(main.status).toBe(404)
    expect(await main.json()).toMatchObject({ error: 'not_found' })

    expect(broker.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
    const scrape = await fetch(broker.metricsUrl ?? '')
    expect(scrape.status).toBe(200)
    expect(scrape.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    expect(scrape.headers.get('x-content-type-options')).toBe('nosniff')
    const text = await scrape.text()
    expect(text).toMatch(/bff_http_requests_total\{route="healthz",method="GET",status="200"\} \d+/)
    expect(text).toMatch(/bff_http_requests_total\{route="metrics",method="GET",status="404"\} 1/)

    const other = await fetch(new URL('/healthz', broker.metricsUrl))
    expect(other.status).toBe(404)
  })

  it('when the broker stops, then the metrics listener stops with it', async () => {
    const url = broker.metricsUrl ?? ''
    expect((await fetch(url)).status).toBe(200)
    await broker.stop()
    await expect(fetch(url)).rejects.toThrow()
    expect(broker.server.listening).toBe(false)
  })
})
