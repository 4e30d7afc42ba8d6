import http from 'node:http'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startUpstream, type Upstream } from '../../support/upstream.js'
import { apiRoute, startProxyApp, testToken, type ProxyApp } from './proxy-app.js'

let upstream: Upstream
let app: ProxyApp

beforeAll(async () => {
  upstream = await startUpstream()
  app = await startProxyApp(
    [
      apiRoute('/api/up', upstream.url),
      apiRoute('/api/v2', `${upstream.url}/echo/v2`),
      apiRoute('/api/cookies', upstream.url, { passSetCookie: true }),
    ],
    { publicUrl: new URL('https://app.example.com') },
  )
})
afterAll(async () => {
  await app?.close()
  await upstream?.stop()
})

const lastRequest = () => upstream.requests.at(-1)

describe('proxy forwarding', () => {
  it('when a request is proxied, then the upstream receives the Bearer token and none of the browser credentials', async () => {
    const res = await request(app.url)
      .get('/api/up/echo/orders?status=open&x=%2F')
      .set('Cookie', 'bff-session=s%3Asecret; other=1')
      .set('X-CSRF', '1')
      .set('Authorization', 'Basic c3RvbGVu')
      .set('Proxy-Authorization', 'Basic c3RvbGVu')
      .set('Accept', 'application/json')
    expect(res.status).toBe(200)
    const seen = lastRequest()
    expect(seen?.url).toBe('/echo/orders?status=open&x=%2F')
    expect(seen?.headers.authorization).toBe(`Bearer ${testToken}`)
    expect(seen?.headers.cookie).toBeUndefined()
    expect(seen?.headers['x-csrf']).toBeUndefined()
    expect(seen?.headers['proxy-authorization']).toBeUndefined()
    expect(seen?.headers.accept).toBe('application/json')
    expect(seen?.headers.host).toBe(new URL(upstream.url).host)
  })

  it('when the target carries a path, then the route prefix is replaced by it', async () => {
    const res = await request(app.url).get('/api/v2/42?q=1')
    expect(res.body.url).toBe('/echo/v2/42?q=1')
  })

  it('when a body is posted, then method, body and content type reach the upstream unchanged', async () => {
    const res = await request(app.url).put('/api/up/upload').set('Content-Type', 'application/json').send('{"a":1}')
    expect(res.body).toEqual({ bytes: 7, sha256: expect.any(String) as string })
    expect(lastRequest()?.method).toBe('PUT')
    expect(lastRequest()?.headers['content-type']).toBe('application/json')
  })

  it('when a POST has an empty body, then the upstream gets a POST with no body', async () => {
    const res = await request(app.url).post('/api/up/upload')
    expect(res.body.bytes).toBe(0)
  })

  it('when the upstream answers 401 or 503, then the status and body pass through unchanged', async () => {
    for (const code of [401, 404, 503]) {
      const res = await request(app.url).get(`/api/up/status/${code}`)
      expect(res.status).toBe(code)
      expect(res.body).toEqual({ status: code })
    }
  })

  it('when the client names headers in Connection, then those headers are not forwarded', async () => {
    await request(app.url).get('/api/up/echo').set('Connection', 'keep-alive, X-Private').set('X-Private', 'p').set('X-Public', 'q')
    expect(lastRequest()?.headers['x-private']).toBeUndefined()
    expect(lastRequest()?.headers['x-public']).toBe('q')
  })

  it('when the route does not pass cookies, then every upstream Set-Cookie is dropped', async () => {
    const res = await request(app.url).get('/api/up/set-cookie')
    expect(res.status).toBe(200)
    expect(res.headers['set-cookie']).toBeUndefined()
  })

  it('when the route passes cookies, then only cookies not named like the session cookie reach the browser', async () => {
    const res = await request(app.url).get('/api/cookies/set-cookie')
    expect(res.headers['set-cookie']).toEqual(['theme=dark; Path=/', 'lang=en; Path=/'])
  })

  it('when the broker set a cookie of its own on the answer, then the upstream\'s passed cookies are added to it, not put in its place', async () => {
    const res = await request(app.url).get('/api/cookies/set-cookie').set('x-test-broker-cookie', 'mine=1; Path=/')
    expect(res.headers['set-cookie']).toEqual(['mine=1; Path=/', 'theme=dark; Path=/', 'lang=en; Path=/'])
    // and with nothing to add, the broker's cookie is still there
    const alone = await request(app.url).get('/api/up/set-cookie').set('x-test-broker-cookie', 'mine=1; Path=/')
    expect(alone.headers['set-cookie']).toEqual(['mine=1; Path=/'])
  })

  it('when the client sends X-Forwarded headers and no proxy is trusted, then they are replaced by the broker view', async () => {
    await request(app.url)
      .get('/api/up/echo')
      .set('X-Forwarded-For', '6.6.6.6')
      .set('X-Forwarded-Proto', 'http')
      .set('X-Forwarded-Host', 'evil.example')
      .set('Forwarded', 'for=6.6.6.6;host=evil.example')
    const headers = lastRequest()?.headers
    expect(headers?.['x-forwarded-for']).toBe('127.0.0.1')
    expect(headers?.['x-forwarded-proto']).toBe('https')
    expect(headers?.['x-forwarded-host']).toBe('app.example.com')
    expect(headers?.forwarded).toBe('for=127.0.0.1;proto=https;host="app.example.com"')
  })

  it('when the path is hostile, then the broker answers 400 and the upstream is never called', async () => {
    const before = upstream.requests.length
    for (const path of ['/api/up/%2e%2e/admin', '/api/up/a%252Fb', '/api/up/..;/x', '/api/up/%5cx']) {
      const res = await request(app.url).get(path)
      expect(res.status, path).toBe(400)
      expect(res.body.error).toBe('invalid_request')
    }
    expect(upstream.requests.length).toBe(before)
  })

  it('when the upstream sends hop-by-hop or security headers, then hop-by-hop go and the broker headers win', async () => {
    const res = await request(app.url).get('/api/up/small')
    expect(res.headers['x-content-type-options']).toBe('nosniff')
    expect(res.headers['content-length']).toBe(String(JSON.stringify(res.body).length))
    expect(res.headers['keep-alive']).toBeUndefined()
  })

  it('when two requests use one keep-alive client connection, then both are answered on the same socket', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    const ports: number[] = []
    for (let i = 0; i < 2; i++) {
      await new Promise<void>((resolve, reject) => {
        http.get(`${app.url}/api/up/small`, { agent }, (res) => {
          ports.push(res.socket.localPort ?? 0)
          res.resume().on('end', resolve)
        }).on('error', reject)
      })
    }
    agent.destroy()
    expect(ports[0]).toBe(ports[1])
  })

  it('when requests are proxied, then the token and cookies never appear in the logs', async () => {
    await request(app.url).get('/api/up/status/502').set('Cookie', 'bff-session=s%3Asecret')
    const all = app.logs.join('\n')
    expect(all).not.toContain(testToken)
    expect(all).not.toContain('s%3Asecret')
  })
})

describe('proxy forwarding behind a trusted proxy', () => {
  it('when every proxy is trusted, then the client chain is kept and the broker appends its peer', async () => {
    const trusted = await startProxyApp([apiRoute('/api/up', upstream.url)], { trustProxy: true })
    try {
      await request(trusted.url)
        .get('/api/up/echo')
        .set('X-Forwarded-For', '203.0.113.9')
        .set('X-Forwarded-Proto', 'https')
        .set('X-Forwarded-Host', 'app.example.com')
      const headers = lastRequest()?.headers
      expect(headers?.['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1')
      expect(headers?.['x-forwarded-proto']).toBe('https')
      expect(headers?.['x-forwarded-host']).toBe('app.example.com')
      expect(headers?.forwarded).toBe('for=203.0.113.9, for=127.0.0.1;proto=https;host="app.example.com"')
    } finally {
      await trusted.close()
    }
  })
})
