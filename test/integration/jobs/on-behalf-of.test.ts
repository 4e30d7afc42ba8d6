import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { secretHashOf } from '../../../src/jobs/job-clients.js'
import { createBrowser, login, startBrokerWithUpstream, type TestBroker } from '../../support/start-app.js'
import type { Upstream } from '../../support/upstream.js'
import type { Browser } from '../../support/browser.js'
import { rawRequest } from '../../support/raw-http.js'
import { issueJobToken } from './support.js'

const secret = {
  nightly: randomBytes(32).toString('base64url'), narrow: randomBytes(32).toString('base64url'), ops: randomBytes(32).toString('base64url'),
  solo: randomBytes(32).toString('base64url'),
}

let broker: TestBroker
let upstream: Upstream
let stop: () => Promise<void>
beforeAll(async () => {
  ;({ broker, upstream, stop } = await startBrokerWithUpstream((target) => ({
    name: 'jobs-obo',
    config: {
      provider: { scopes: ['openid', 'profile', 'email'], authorizationParams: {} },
      apis: [
        { path: '/api/orders', target: `${target}/echo/orders`, token: 'user' },
        { path: '/api/reports', target: `${target}/echo/reports`, token: 'client' },
      ],
      jobs: {
        clients: [
          { id: 'nightly', secretHash: secretHashOf(secret.nightly), apis: ['/api/orders', '/api/reports'], onBehalfOf: true },
          { id: 'narrow', secretHash: secretHashOf(secret.narrow), apis: ['/api/reports'] },
          { id: 'ops', secretHash: secretHashOf(secret.ops), apis: [], admin: true },
          // may call the user route, but not on anyone's behalf
          { id: 'solo', secretHash: secretHashOf(secret.solo), apis: ['/api/orders', '/api/reports'] },
        ],
      },
    },
  })))
})
afterAll(() => stop())

const jobToken = (id: keyof typeof secret): Promise<string> => issueJobToken(broker.origin, id, secret[id])

const asJob = (token: string, path: string, headers: Record<string, string> = {}, method = 'GET') =>
  fetch(`${broker.origin}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...headers } })

async function offlineLogin(user: 'alice' | 'bob' = 'alice'): Promise<{ browser: Browser; sub: string }> {
  const browser = createBrowser()
  const start = await browser.get(`${broker.origin}/bff/login?offline=1&returnTo=/`)
  const auth = new URL(start.location!)
  expect(auth.searchParams.get('scope')?.split(' ')).toContain('offline_access')
  expect(auth.searchParams.get('prompt')).toBe('consent')
  const { completeProviderLogin } = await import('../../support/browser.js')
  const callback = await completeProviderLogin(browser, start.location!, { login: user, password: user })
  const done = await browser.get(callback, { site: 'cross-site' })
  expect(done.status).toBe(302)
  const me = JSON.parse((await browser.get(`${broker.origin}/bff/user`, { xhr: true, headers: { 'x-csrf': '1' } })).body) as { sub: string }
  return { browser, sub: me.sub }
}

describe('background jobs on a user\'s behalf', () => {
  it('when a user logged in with offline=1, then a job acts for them on a user route, before and after their browser logout', async () => {
    const { browser, sub } = await offlineLogin()
    const token = await jobToken('nightly')
    const before = await asJob(token, '/api/orders/1', { 'x-on-behalf-of': sub })
    expect(before.status).toBe(200)
    expect(upstream.requests.at(-1)!.headers.authorization).toMatch(/^Bearer \S+$/)
    expect(upstream.requests.at(-1)!.headers['x-on-behalf-of']).toBeUndefined()

    const me = JSON.parse((await browser.get(`${broker.origin}/bff/user`, { xhr: true, headers: { 'x-csrf': '1' } })).body) as { logoutUrl: string }
    const out = await browser.get(`${broker.origin}${me.logoutUrl}`, { site: 'same-origin' })
    expect(out.status).toBe(302)
    expect((await browser.get(`${broker.origin}/bff/user`, { xhr: true, headers: { 'x-csrf': '1' } })).status).toBe(401)

    const after = await asJob(token, '/api/orders/2', { 'x-on-behalf-of': sub })
    expect(after.status).toBe(200)
    const audit = broker.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.event === 'job.call')
    expect(audit.at(-1)).toMatchObject({ job: 'nightly', sub, route: '/api/orders', status: 200, grant: expect.any(String) })
    expect(JSON.stringify(audit)).not.toContain(token)
  })

  it('when the user did not grant offline access, then the job gets 403 no_offline_grant and nothing reaches the upstream', async () => {
    const browser = createBrowser()
    await login(browser, broker, { user: 'bob' })
    const bob = JSON.parse((await browser.get(`${broker.origin}/bff/user`, { xhr: true, headers: { 'x-csrf': '1' } })).body) as { sub: string }
    const seen = upstream.requests.length
    const res = await asJob(await jobToken('nightly'), '/api/orders/1', { 'x-on-behalf-of': bob.sub })
    expect(res.status).toBe(403)
    expect(await res.json()).toMatchObject({ error: 'no_offline_grant' })
    expect(upstream.requests.length).toBe(seen)
  })

  it('when a job calls a route it may not, or a user route without X-On-Behalf-Of, then 403 forbidden / 400 invalid_request and nothing upstream', async () => {
    const seen = upstream.requests.length
    const narrow = await jobToken('narrow')
    const refused = await asJob(narrow, '/api/orders/1', { 'x-on-behalf-of': 'someone' })
    expect(refused.status).toBe(403)
    expect(await refused.json()).toMatchObject({ error: 'forbidden' })
    const noSub = await asJob(await jobToken('nightly'), '/api/orders/1')
    expect(noSub.status).toBe(400)
    expect(await noSub.json()).toMatchObject({ error: 'invalid_request' })
    expect(upstream.requests.length).toBe(seen)
  })

  /** two header lines need a raw request (fetch joins them into one); fetch sends a header's characters as latin1 bytes */
  const twoHeaders = async (token: string, sub: string) => {
    const head = `GET /api/orders/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer ${token}\r\n` +
      `X-On-Behalf-Of: ${sub}\r\nX-On-Behalf-Of: ${sub}\r\n\r\n`
    const { status, raw } = await rawRequest(broker.origin, head)
    return { status, body: JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as unknown }
  }
  const oneHeader = (value: string) => async (token: string) => {
    const res = await asJob(token, '/api/orders/1', { 'x-on-behalf-of': value })
    return { status: res.status, body: (await res.json()) as unknown }
  }
  it.each([
    ['two X-On-Behalf-Of headers', twoHeaders],
    ['bytes that are not UTF-8 (latin1 ü)', oneHeader('j\u00fcrgen')],
    ['an empty one', oneHeader('')],
    ['256 characters (OIDC Core §2: 255 at most)', oneHeader('a'.repeat(256))],
  ])('when a job sends %s, then 400 invalid_request, never another user, and nothing upstream', async (_what, send) => {
    const { sub } = await offlineLogin()
    const token = await jobToken('nightly')
    const seen = upstream.requests.length
    const { status, body } = await send(token, sub)
    expect(status).toBe(400)
    expect(body).toMatchObject({ error: 'invalid_request' })
    expect(upstream.requests.length).toBe(seen)
  })

  it('when X-On-Behalf-Of carries a UTF-8 subject, then it is read as UTF-8 (the same string the admin API path names): 403 no_offline_grant for that sub', async () => {
    const token = await jobToken('nightly')
    const from = broker.logs.length
    const res = await asJob(token, '/api/orders/1', { 'x-on-behalf-of': Buffer.from('jürgen', 'utf8').toString('latin1') })
    expect(res.status).toBe(403)
    expect(await res.json()).toMatchObject({ error: 'no_offline_grant' })
    const audit = broker.logs.slice(from).map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.event === 'job.call')
    expect(audit).toEqual([expect.objectContaining({ job: 'nightly', sub: 'jürgen', status: 403 })])
  })

  it('when a job whose client lacks onBehalfOf names a user who granted offline access, then 403 forbidden, nothing upstream, and the call is audited', async () => {
    const { sub } = await offlineLogin()
    const token = await jobToken('solo')
    const seen = upstream.requests.length
    const from = broker.logs.length
    const res = await asJob(token, '/api/orders/1', { 'x-on-behalf-of': sub })
    expect(res.status).toBe(403)
    expect(await res.json()).toMatchObject({ error: 'forbidden', message: expect.any(String) })
    expect(upstream.requests.length).toBe(seen)
    const audit = broker.logs.slice(from).map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.event === 'job.call')
    expect(audit).toEqual([expect.objectContaining({ job: 'solo', route: '/api/orders', status: 403 })])
    expect((await asJob(token, '/api/reports/1')).status).toBe(200)
  })

  it('when a job calls a client route, then it gets the broker\'s client-credentials token, no CSRF header needed', async () => {
    const res = await asJob(await jobToken('narrow'), '/api/reports/daily')
    expect(res.status).toBe(200)
    expect(upstream.requests.at(-1)!.headers.authorization).toMatch(/^Bearer \S+$/)
  })

  it('when an unknown or garbage job token is sent, then 401 and nothing upstream', async () => {
    const seen = upstream.requests.length
    const res = await asJob(`bffj_${'A'.repeat(43)}`, '/api/reports/daily')
    expect(res.status).toBe(401)
    expect(upstream.requests.length).toBe(seen)
  })
})

describe('session administration', () => {
  it('when a user lists their sessions, then each has an opaque id, kind and current, and the offline grant is listed', async () => {
    const { browser, sub } = await offlineLogin()
    const other = createBrowser()
    await login(other, broker)
    const res = await browser.get(`${broker.origin}/bff/sessions`, { xhr: true, headers: { 'x-csrf': '1' } })
    expect(res.status).toBe(200)
    const body = JSON.parse(res.body) as { sessions: Array<Record<string, unknown>>; grants: Array<Record<string, unknown>> }
    const current = body.sessions.filter((s) => s.current)
    expect(current).toHaveLength(1)
    expect(body.sessions.length).toBeGreaterThanOrEqual(2)
    for (const s of body.sessions) {
      expect(s).toMatchObject({ id: expect.stringMatching(/^[\w-]{22}$/), kind: 'browser', createdAt: expect.any(Number), lastUsedAt: expect.any(Number) })
      expect(res.body).not.toContain(browser.cookie(broker.origin, 'bff-session') ?? '@@')
    }
    expect(body.grants[0]).toMatchObject({ id: expect.any(String), kind: 'offline', scopes: expect.arrayContaining(['offline_access']) })
    expect(sub).toBeTruthy()
  })

  it('when a user signs out another session, then it ends at once; another user\'s id is a 404', async () => {
    const a = createBrowser()
    await login(a, broker)
    const b = createBrowser()
    await login(b, broker)
    const xhr = { xhr: true, headers: { 'x-csrf': '1' } }
    const listed = JSON.parse((await a.get(`${broker.origin}/bff/sessions`, xhr)).body) as { sessions: Array<{ id: string; current: boolean }> }
    const bMe = JSON.parse((await b.get(`${broker.origin}/bff/sessions`, xhr)).body) as { sessions: Array<{ id: string; current: boolean }> }
    const bId = bMe.sessions.find((s) => s.current)!.id
    expect(listed.sessions.map((s) => s.id)).toContain(bId)
    const del = await a.request(`${broker.origin}/bff/sessions/${bId}`, { method: 'DELETE', ...xhr })
    expect(del.status).toBe(204)
    expect((await b.get(`${broker.origin}/bff/user`, xhr)).status).toBe(401)

    const bob = createBrowser()
    await login(bob, broker, { user: 'bob' })
    const aId = listed.sessions.find((s) => s.current)!.id
    expect((await bob.request(`${broker.origin}/bff/sessions/${aId}`, { method: 'DELETE', ...xhr })).status).toBe(404)
    expect((await a.get(`${broker.origin}/bff/user`, xhr)).status).toBe(200)
  })

  it('when an admin job signs a user out everywhere, then every session and offline grant ends; a non-admin job gets 403', async () => {
    const { browser, sub } = await offlineLogin()
    const nightly = await jobToken('nightly')
    expect((await asJob(nightly, `/bff/admin/users/${encodeURIComponent(sub)}/sessions`)).status).toBe(403)
    const ops = await jobToken('ops')
    const listed = await asJob(ops, `/bff/admin/users/${encodeURIComponent(sub)}/sessions`)
    expect(listed.status).toBe(200)
    const ended = await asJob(ops, `/bff/admin/users/${encodeURIComponent(sub)}/sessions`, {}, 'DELETE')
    expect(ended.status).toBe(200)
    const counts = (await ended.json()) as { sessions: number; grants: number }
    expect(counts.sessions).toBeGreaterThanOrEqual(1)
    expect(counts.grants).toBeGreaterThanOrEqual(1)
    expect((await browser.get(`${broker.origin}/bff/user`, { xhr: true, headers: { 'x-csrf': '1' } })).status).toBe(401)
    const job = await asJob(nightly, '/api/orders/1', { 'x-on-behalf-of': sub })
    expect(job.status).toBe(403)
    expect(await job.json()).toMatchObject({ error: 'no_offline_grant' })
    const audit = broker.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => String(l.event).startsWith('admin.'))
    expect(audit.some((l) => l.event === 'admin.end_user' && l.actor === 'ops' && l.target === sub)).toBe(true)
    expect(audit.some((l) => l.event === 'admin.refused' && l.actor === 'nightly')).toBe(true)
  })
})
