import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBrokerWithUpstream, type TestBroker } from '../../support/start-app.js'
import type { Upstream } from '../../support/upstream.js'
import { rawRequest } from '../../support/raw-http.js'

// issue 11 item 7: a session cookie whose percent-encoding is broken (`%E0%A4%A`) was a 500 on API routes and
// WebSocket upgrades; it names no session, so it is treated as absent
const malformed = ['%E0%A4%A', '%', 's%3A%ZZ.x', '%C0%AF']

let broker: TestBroker
let upstream: Upstream
let stop: () => Promise<void>
beforeAll(async () => {
  ;({ broker, upstream, stop } = await startBrokerWithUpstream((url) => ({
    name: 'malformed-cookie',
    config: {
      apis: [
        { path: '/api/orders', target: `${url}/echo`, token: 'user' },
        { path: '/api/ws', target: `${url}/ws`, token: 'user', websocket: true },
      ],
    },
  })))
})
afterAll(() => stop())

describe('a malformed session cookie (issue 11.7)', () => {
  it.each(malformed)('when an API call carries bff-session=%s, then it is 401 unauthorized JSON, never a 500, and nothing reaches the upstream', async (value) => {
    const seen = upstream.requests.length
    const res = await fetch(`${broker.origin}/api/orders/1`, { headers: { cookie: `bff-session=${value}`, 'x-csrf': '1' } })
    expect(res.status).toBe(401)
    expect(await res.json()).toMatchObject({ error: 'unauthorized' })
    expect(upstream.requests.length).toBe(seen)
  })

  it.each(malformed)('when /bff/user is asked with bff-session=%s, then it is 401, never a 500', async (value) => {
    const res = await fetch(`${broker.origin}/bff/user`, { headers: { cookie: `bff-session=${value}`, 'x-csrf': '1' } })
    expect(res.status).toBe(401)
  })

  it.each(malformed)('when a WebSocket upgrade carries bff-session=%s, then it is refused with 401, never a 500', async (value) => {
    const { port } = new URL(broker.origin)
    const head = [
      'GET /api/ws HTTP/1.1',
      `Host: 127.0.0.1:${port}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      `Origin: ${broker.origin}`,
      `Cookie: bff-session=${value}`,
    ].join('\r\n')
    const res = await rawRequest(broker.origin, head)
    expect(res.status).toBe(401)
    expect(res.raw).toContain('"error":"unauthorized"')
  })
})
