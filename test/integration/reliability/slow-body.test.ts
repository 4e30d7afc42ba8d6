import http from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openRaw, type RawExchange } from '../../support/raw-http.js'
import { startBrokerWithUpstream, startTestBroker, type TestBroker } from '../../support/start-app.js'
import type { Upstream } from '../../support/upstream.js'

// Slow request bodies (issue 11, item 5): a broker route's body must arrive within limits.bodyTimeoutSeconds, a
// proxied upload that stops moving for the route's timeoutMs is cut, and one client address holds at most
// limits.maxConnectionsPerClient connections. Small configured values keep the file to a few seconds.

let broker: TestBroker
let capped: TestBroker
let upstream: Upstream
let stop: () => Promise<void>

beforeAll(async () => {
  const bed = await startBrokerWithUpstream((url) => ({
    name: 'slow-body',
    config: {
      limits: { bodyTimeoutSeconds: 1 },
      provider: { passwordGrant: true },
      apis: [{ path: '/api/up', target: url, token: 'none', anonymous: true, timeoutMs: 600 }],
    },
  }))
  ;({ broker, upstream } = bed)
  capped = await startTestBroker({ name: 'conn-cap', issuer: bed.idp.issuer, config: { limits: { maxConnectionsPerClient: 3 } } })
  stop = async () => {
    await capped.stop()
    await bed.stop()
  }
})
afterAll(() => stop?.())

/** Resolves with the ms until the server closed the connection, or -1 when it is still open after `ms`. */
const closedWithin = (raw: RawExchange, ms: number) => Promise.race([raw.closed, sleep(ms).then(() => -1)])

function expectTimeoutAnswer(raw: RawExchange) {
  const answer = raw.received()
  expect(answer).toMatch(/^HTTP\/1\.1 408 /)
  expect(answer).toMatch(/\r\nconnection: close\r\n/i)
  expect(answer).toMatch(/\r\ncontent-type: application\/json/i)
  expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({ error: 'request_timeout' })
}

describe('slow request bodies (issue 11, item 5)', () => {
  it.each([
    ['back-channel logout', '/bff/backchannel-logout', 'application/x-www-form-urlencoded'],
    ['password login', '/bff/login/password', 'application/json'],
  ])('when the %s body trickles in past limits.bodyTimeoutSeconds, then 408 request_timeout JSON and the connection is closed', async (_name, path, type) => {
    const raw = await openRaw(broker.origin)
    raw.socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nX-CSRF: 1\r\nContent-Type: ${type}\r\nContent-Length: 1000\r\n\r\n`)
    // one byte every 200 ms: it would take 200 s to finish
    const trickle = setInterval(() => raw.socket.writable && raw.socket.write('a'), 200)
    try {
      const ms = await closedWithin(raw, 4000)
      expect(ms).toBeGreaterThanOrEqual(900)
      expect(ms).toBeLessThan(3000)
      expectTimeoutAnswer(raw)
    } finally {
      clearInterval(trickle)
      raw.socket.destroy()
    }
  })

  it('when a broker route body comes in pieces but completes within limits.bodyTimeoutSeconds, then it is served', async () => {
    const raw = await openRaw(broker.origin)
    const body = 'foo=bar&x=1'
    raw.socket.write(`POST /bff/backchannel-logout HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`)
    for (const piece of [body.slice(0, 4), body.slice(4, 8), body.slice(8)]) {
      raw.socket.write(piece)
      await sleep(250)
    }
    expect(await closedWithin(raw, 3000)).not.toBe(-1)
    // no logout_token: the route itself answered
    expect(raw.received()).toMatch(/^HTTP\/1\.1 400 /)
    expect(raw.received()).toContain('"error":"invalid_request"')
  })

  it('when an upload to an API route stops moving for its timeoutMs, then 408 request_timeout JSON, the upstream request is aborted and the connection closed', async () => {
    const raw = await openRaw(broker.origin)
    raw.socket.write('POST /api/up/upload HTTP/1.1\r\nHost: x\r\nX-CSRF: 1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n')
    try {
      const ms = await closedWithin(raw, 4000)
      expect(ms).not.toBe(-1)
      expect(ms).toBeLessThan(2500)
      expectTimeoutAnswer(raw)
      expect(raw.received()).toContain('The request body stopped arriving.')
      await expect.poll(() => upstream.requests.find((r) => r.url === '/upload' && r.bodyLength === 5)?.closedEarly).toBe(true)
      expect(broker.logs.some((l) => l.includes('"event":"proxy.upload_stalled"'))).toBe(true)
    } finally {
      raw.socket.destroy()
    }
  })

  it('when an upload keeps moving for longer than timeoutMs in all, then it reaches the upstream whole', async () => {
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${broker.origin}/api/up/upload`, { method: 'POST', headers: { 'x-csrf': '1' } }, (res) => {
        let text = ''
        res.setEncoding('utf8').on('data', (t: string) => (text += t))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
      })
      req.on('error', reject)
      void (async () => {
        // 8 chunks 200 ms apart: 1.6 s in all, never 600 ms without a byte
        for (let i = 0; i < 8; i++) {
          req.write(Buffer.alloc(1000, i))
          await sleep(200)
        }
        req.end()
      })()
    })
    expect(answer.status, answer.body).toBe(200)
    expect(JSON.parse(answer.body)).toMatchObject({ bytes: 8000 })
  })

  it('when one client address holds limits.maxConnectionsPerClient connections, then a further one is closed at once and a freed slot serves again', async () => {
    const held = await Promise.all([1, 2, 3].map(() => openRaw(capped.origin)))
    try {
      const extra = await openRaw(capped.origin)
      expect(await closedWithin(extra, 2000)).not.toBe(-1)
      expect(extra.received()).toBe('')
      held[0]?.socket.destroy()
      await held[0]?.closed
      await sleep(100) // the server sees the close a moment later
      const next = await openRaw(capped.origin)
      next.socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
      await closedWithin(next, 3000)
      expect(next.received()).toMatch(/^HTTP\/1\.1 200 /)
      expect(next.received()).toMatch(/\nbff_connections_refused_total 1\n/)
      const capLines = capped.logs.filter((l) => l.includes('"event":"http.connections_capped"'))
      expect(capLines).toHaveLength(1)
      expect(capLines[0]).toContain('"client":"127.0.0.1"')
    } finally {
      for (const raw of held) raw.socket.destroy()
    }
  })
})
