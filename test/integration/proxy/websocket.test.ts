import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBrowser, login, startBrokerWithUpstream, type TestBroker } from '../../support/start-app.js'
import type { Upstream } from '../../support/upstream.js'
import { readSessionGrant } from '../../support/grants.js'

let broker: TestBroker
let upstream: Upstream
let stop: () => Promise<void>

beforeAll(async () => {
  ;({ broker, upstream, stop } = await startBrokerWithUpstream((url) => ({
    name: 'websocket',
    config: {
      apis: [
        { path: '/api/ws', target: `${url}/ws`, token: 'user', websocket: true },
        { path: '/api/plain', target: `${url}/ws`, token: 'user' },
      ],
    },
  })))
})
afterAll(() => stop())

/** A WebSocket handshake as a browser sends it (a browser cannot add X-CSRF here), then one echoed message. */
function handshake(path: string, headers: Record<string, string>): Promise<{ status: number; echoed: string }> {
  const { port } = new URL(broker.origin)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1')
    let raw = ''
    let status = 0
    socket.on('data', (d) => {
      raw += d.toString('latin1')
      if (!status && raw.includes('\r\n\r\n')) {
        status = Number(raw.slice(9, 12))
        if (status === 101) socket.write('ping-through-tunnel')
        else socket.end()
      }
      if (status === 101 && raw.includes('ping-through-tunnel')) socket.end()
    })
    socket.on('close', () => resolve({ status, echoed: raw.slice(raw.indexOf('\r\n\r\n') + 4) }))
    socket.on('error', reject)
    const lines = [
      `GET ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Upgrade: websocket', 'Connection: Upgrade',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13',
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ]
    socket.write(`${lines.join('\r\n')}\r\n\r\n`)
  })
}

describe('WebSocket routes', () => {
  it('when a logged-in page opens a WebSocket from its own origin, then the upstream gets the Bearer token and no cookie, and bytes flow', async () => {
    const b = createBrowser()
    await login(b, broker)
    const cookie = `bff-session=${b.cookie(broker.origin, 'bff-session')}`
    const res = await handshake('/api/ws/feed', { Origin: broker.origin, Cookie: cookie })
    expect(res.status).toBe(101)
    expect(res.echoed).toContain('ping-through-tunnel')
    const { grant } = await readSessionGrant(broker, b)
    const seen = upstream.requests.filter((r) => r.upgrade).at(-1)!
    expect(seen.url).toBe('/ws/feed')
    expect(seen.headers.authorization).toBe(`Bearer ${grant!.tokens.accessToken}`)
    expect(seen.headers.cookie).toBeUndefined()
  })

  it('when the handshake comes from another origin, then 403 and nothing reaches the upstream (cross-site WebSocket hijacking)', async () => {
    const b = createBrowser()
    await login(b, broker)
    const cookie = `bff-session=${b.cookie(broker.origin, 'bff-session')}`
    const before = upstream.requests.length
    expect((await handshake('/api/ws/feed', { Origin: 'https://evil.example', Cookie: cookie })).status).toBe(403)
    expect((await handshake('/api/ws/feed', { Cookie: cookie })).status).toBe(403)
    expect(upstream.requests.length).toBe(before)
  })

  it('when there is no session, or the route is not flagged for WebSockets, then the upgrade is refused', async () => {
    const before = upstream.requests.length
    expect((await handshake('/api/ws/feed', { Origin: broker.origin })).status).toBe(401)
    const b = createBrowser()
    await login(b, broker)
    const cookie = `bff-session=${b.cookie(broker.origin, 'bff-session')}`
    expect((await handshake('/api/plain/feed', { Origin: broker.origin, Cookie: cookie })).status).toBe(404)
    expect((await handshake('/api/ws/../admin', { Origin: broker.origin, Cookie: cookie })).status).toBe(400)
    expect(upstream.requests.length).toBe(before)
  })
})
