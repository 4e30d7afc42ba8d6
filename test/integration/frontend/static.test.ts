import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultAppPolicy } from '../../../src/frontend/csp.js'
import { createBrowser, login, startBrokerWithUpstream, type TestBroker } from '../../support/start-app.js'
import { rawRequest } from '../../support/raw-http.js'

// frontend.static: a built SPA on the broker's origin, next to the broker's routes and an API route
let broker: TestBroker
let stop: () => Promise<void>
let dist: string
let outside: string
const INDEX = '<!doctype html><title>app</title><script type="module" src="/assets/index-3f2a9c1b.js"></script>'
const BROKER_CSP = "default-src 'none'"

beforeAll(async () => {
  const base = mkdtempSync(join(tmpdir(), 'bff-static-'))
  dist = join(base, 'dist')
  outside = join(base, 'outside')
  for (const dir of [dist, join(dist, 'assets'), join(dist, 'api', 'echo'), join(dist, 'bff'), outside]) mkdirSync(dir, { recursive: true })
  writeFileSync(join(dist, 'index.html'), INDEX)
  writeFileSync(join(dist, 'assets', 'index-3f2a9c1b.js'), 'console.log("app")\n')
  writeFileSync(join(dist, 'robots.txt'), 'User-agent: *\n')
  writeFileSync(join(dist, '.env'), 'SECRET=in-a-dotfile\n')
  // files named like broker and API routes: the routes win
  writeFileSync(join(dist, 'api', 'echo', 'x.json'), '{"from":"file"}')
  writeFileSync(join(dist, 'bff', 'user'), '{"from":"file"}')
  writeFileSync(join(dist, 'healthz'), 'file')
  writeFileSync(join(outside, 'secret.txt'), 'outside the app')
  symlinkSync(join(outside, 'secret.txt'), join(dist, 'leak.txt'))
  symlinkSync(outside, join(dist, 'linked'))
  ;({ broker, stop } = await startBrokerWithUpstream((url) => ({
    name: 'frontend-static',
    config: { apis: [{ path: '/api/echo', target: `${url}/echo` }], frontend: { static: dist } },
  })))
})
afterAll(async () => {
  await stop()
  rmSync(join(dist, '..'), { recursive: true, force: true })
})

const appPolicy = () => defaultAppPolicy('static', broker.config.publicUrl)
const raw = (path: string) => rawRequest(broker.origin, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/html\r\nConnection: close`)

describe('frontend.static', () => {
  it('when a navigation asks for / or a client-side route, then index.html is served, no-cache, under the app CSP', async () => {
    const b = createBrowser()
    for (const path of ['/', '/orders/42', '/orders/42/', '/assets']) {
      const res = await b.get(`${broker.origin}${path}`)
      expect(res.status, path).toBe(200)
      expect(res.body, path).toBe(INDEX)
      expect(res.headers['content-type'], path).toBe('text/html; charset=utf-8')
      expect(res.headers['cache-control'], path).toBe('no-cache')
      expect(res.headers['content-security-policy'], path).toBe(appPolicy())
      // the rest of invariant 12 still holds on the app's pages
      expect(res.headers['x-frame-options'], path).toBe('DENY')
      expect(res.headers['x-content-type-options'], path).toBe('nosniff')
    }
  })

  it('when a fingerprinted asset or another file is asked for, then it is served with its type and cache lifetime', async () => {
    const b = createBrowser()
    const asset = await b.get(`${broker.origin}/assets/index-3f2a9c1b.js`, { xhr: true })
    expect(asset.status).toBe(200)
    expect(asset.body).toBe('console.log("app")\n')
    expect(asset.headers['content-type']).toBe('text/javascript; charset=utf-8')
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable')
    const robots = await b.get(`${broker.origin}/robots.txt`)
    expect(robots.headers['content-type']).toBe('text/plain; charset=utf-8')
    expect(robots.headers['cache-control']).toBe('public, max-age=300')
  })

  it('when a missing asset is asked for, or a client-side route by fetch, then 404, not index.html', async () => {
    const b = createBrowser()
    const missing = await b.get(`${broker.origin}/assets/index-00000000.js`)
    expect(missing.status).toBe(404)
    expect(missing.body).not.toContain('<title>app</title>')
    expect(String(missing.headers['content-security-policy'])).toContain(BROKER_CSP)
    const fetched = await b.get(`${broker.origin}/orders/42`, { xhr: true })
    expect(fetched.status).toBe(404)
    expect(JSON.parse(fetched.body)).toMatchObject({ error: 'not_found' })
    expect((await b.request(`${broker.origin}/orders/42`, { method: 'POST', body: '' })).status).toBe(404)
  })

  it('when a file is asked for again with its ETag or date, then 304; and HEAD gives the headers without a body', async () => {
    const b = createBrowser()
    const first = await b.get(`${broker.origin}/assets/index-3f2a9c1b.js`, { xhr: true })
    const etag = String(first.headers.etag)
    expect(etag).toMatch(/^W\/"/)
    expect(first.headers['last-modified']).toBeTruthy()
    const again = await b.get(`${broker.origin}/assets/index-3f2a9c1b.js`, { xhr: true, headers: { 'if-none-match': etag } })
    expect(again.status).toBe(304)
    expect(again.body).toBe('')
    const since = await b.get(`${broker.origin}/orders/7`, { headers: { 'if-modified-since': String(first.headers['last-modified']) } })
    expect(since.status).toBe(304)
    expect(since.headers['cache-control']).toBe('no-cache')
    const head = await b.request(`${broker.origin}/orders/7`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers['content-length']).toBe(String(Buffer.byteLength(INDEX)))
    expect(head.body).toBe('')
  })

  it('when a path climbs out of the directory, encoded or not, then 400 and nothing outside is read', async () => {
    for (const path of [
      '/../outside/secret.txt', '/assets/../../outside/secret.txt', '/%2e%2e/outside/secret.txt', '/assets%2f..%2f..%2foutside%2fsecret.txt',
      '/%252e%252e/outside/secret.txt', '/..%5coutside%5csecret.txt', '/assets/%2E%2E/index.html', '//outside/secret.txt',
    ]) {
      const res = await raw(path)
      expect(res.status, path).toBe(400)
      expect(res.raw, path).not.toContain('outside the app')
    }
  })

  it('when a symlink leads out of the directory or a hidden file is asked for, then 404 and its content is not served', async () => {
    const b = createBrowser()
    for (const path of ['/leak.txt', '/linked/secret.txt', '/.env']) {
      const res = await b.get(`${broker.origin}${path}`)
      expect(res.status, path).toBe(404)
      expect(res.body, path).not.toMatch(/outside the app|in-a-dotfile/)
    }
  })

  it('when a file has the name of an API route, then the API route answers (401 without a session, proxied with one)', async () => {
    const b = createBrowser()
    const anonymous = await b.get(`${broker.origin}/api/echo/x.json`, { xhr: true, headers: { 'x-csrf': '1' } })
    expect(anonymous.status).toBe(401)
    await login(b, broker)
    const proxied = await b.get(`${broker.origin}/api/echo/x.json`, { xhr: true, headers: { 'x-csrf': '1' } })
    expect(proxied.status).toBe(200)
    expect(JSON.parse(proxied.body)).toMatchObject({ url: '/echo/x.json' })
  })

  it("when a file has the name of a broker route, then the broker answers, under the broker's strict CSP", async () => {
    const b = createBrowser()
    const user = await b.get(`${broker.origin}/bff/user`, { xhr: true, headers: { 'x-csrf': '1' } })
    expect(user.status).toBe(401)
    expect(String(user.headers['content-security-policy'])).toContain(BROKER_CSP)
    const health = await b.get(`${broker.origin}/healthz`)
    expect(JSON.parse(health.body)).toEqual({ status: 'ok' })
    expect(String(health.headers['content-security-policy'])).toContain(BROKER_CSP)
    // the broker's namespace stays its own: no index.html under basePath
    const unknown = await b.get(`${broker.origin}/bff/no-such-route`)
    expect(unknown.status).toBe(404)
    expect(unknown.body).not.toContain('<title>app</title>')
    const login = await b.get(`${broker.origin}/bff/login`)
    expect(login.status).toBe(302)
    expect(String(login.headers['content-security-policy'])).toContain(BROKER_CSP)
  })
})
