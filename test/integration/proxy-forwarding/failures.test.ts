import http from 'node:http'
import type { AddressInfo } from 'node:net'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startUpstream, type Upstream } from '../../support/upstream.js'
import { apiRoute, closedPort, startProxyApp, until, type ProxyApp } from './proxy-app.js'

let upstream: Upstream
let broken: http.Server
let app: ProxyApp

beforeAll(async () => {
  upstream = await startUpstream()
  // answers a head promising 100 bytes, sends 10 and drops the connection
  broken = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-length': 100 })
    res.write(Buffer.alloc(10))
    setTimeout(() => res.socket?.destroy(), 50)
  })
  await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve))
  app = await startProxyApp([
    apiRoute('/api/up', upstream.url),
    apiRoute('/api/down', `http://127.0.0.1:${await closedPort()}`),
    apiRoute('/api/slow', upstream.url, { timeoutMs: 300 }),
    apiRoute('/api/broken', `http://127.0.0.1:${(broken.address() as AddressInfo).port}`),
  ])
})
afterAll(async () => {
  await app?.close()
  await upstream?.stop()
  broken?.closeAllConnections()
  await new Promise((resolve) => broken?.close(resolve))
})

describe('proxy failures', () => {
  it('when the upstream port is closed, then the client gets 502 upstream_unavailable JSON', async () => {
    const res = await request(app.url).get('/api/down/anything').set('Accept', 'application/json')
    expect(res.status).toBe(502)
    expect(res.body).toEqual({ error: 'upstream_unavailable', message: expect.any(String) as string })
    expect(app.logs.join('\n')).toContain('proxy.upstream_error')
  })

  it('when the upstream sends no headers within timeoutMs, then the client gets 504 upstream_timeout', async () => {
    const started = Date.now()
    const res = await request(app.url).get('/api/slow/slow/3000')
    expect(res.status).toBe(504)
    expect(res.body.error).toBe('upstream_timeout')
    expect(Date.now() - started).toBeLessThan(2_000)
  })

  it('when the upstream answers within timeoutMs, then the slow route still succeeds', async () => {
    const res = await request(app.url).get('/api/slow/slow/50')
    expect(res.status).toBe(200)
  })

  it('when the client goes away before the upstream answers, then the upstream request is aborted', async () => {
    const req = http.get(`${app.url}/api/up/slow/5000?abort=head`)
    req.on('error', () => {})
    await until(() => upstream.requests.some((r) => r.url === '/slow/5000?abort=head'))
    req.destroy()
    await until(() => upstream.requests.find((r) => r.url === '/slow/5000?abort=head')?.closedEarly === true)
  })

  it('when the client goes away while the body streams, then the upstream response is cut too', async () => {
    await new Promise<void>((resolve, reject) => {
      const req = http.get(`${app.url}/api/up/hang`, (res) => {
        res.once('data', () => { req.destroy(); resolve() })
      })
      req.on('error', (err) => { if (!req.destroyed) reject(err) })
    })
    await until(() => upstream.requests.find((r) => r.url === '/hang')?.closedEarly === true)
  })

  it('when the upstream fails after the response head was sent, then the client connection is destroyed', async () => {
    const outcome = await new Promise<string>((resolve) => {
      http.get(`${app.url}/api/broken/x`, (res) => {
        expect(res.statusCode).toBe(200)
        let bytes = 0
        res.on('data', (c: Buffer) => { bytes += c.length })
        res.on('end', () => resolve(`ended after ${bytes}`))
        res.on('error', () => resolve('destroyed'))
        res.on('aborted', () => resolve('destroyed'))
      }).on('error', () => resolve('destroyed'))
    })
    expect(outcome).toBe('destroyed')
  })
})
