import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sessionIdOfHandle } from '../../../src/mobile/handles.js'
import { unsignSessionCookie } from '../../../src/session/http-session.js'
import { readSessionGrant } from '../../support/grants.js'
import { mobileClient, mobileConfig, mobileLogin } from '../../support/mobile.js'
import { keysWithPrefix } from '../../support/redis.js'
import { startBrokerWithUpstream, type TestBroker } from '../../support/start-app.js'
import type { Upstream } from '../../support/upstream.js'
import { asJob, browserLogin, jobSecrets, jobToken, listSessions, logLines, offlineConfig, userStatus, xhr, type Listing } from './offline.js'

// Self-service session administration across both transports (cookie and mobile handle), the admin API's refusals,
// the audit lines (invariant 17) and what never shows: no credential in an id, a log line or a Redis key.

let broker: TestBroker
let upstream: Upstream
let stop: () => Promise<void>
/** every credential the tests saw: none may appear in any log line */
const secrets = new Set<string>(Object.values(jobSecrets))
beforeAll(async () => {
  ;({ broker, upstream, stop } = await startBrokerWithUpstream((url) => ({
    name: 'jobs-admin',
    config: { ...offlineConfig(url), mobile: mobileConfig() },
  })))
})
afterAll(() => stop())

const nowSeconds = () => Math.floor(Date.now() / 1000)

async function mobileSession(user: 'alice' | 'bob' = 'alice') {
  const client = mobileClient(broker)
  const { token } = await mobileLogin(broker, client, { user })
  secrets.add(token.accessToken)
  const list = async () => {
    const res = await client.fetch('/bff/sessions')
    expect(res.status).toBe(200)
    return (await res.json()) as Listing
  }
  return { client, handle: token.accessToken, list }
}

describe('self-service session administration, browser and mobile', () => {
  it('when a user has a browser and a mobile session, then each lists both with current right for its own transport, ids opaque, times in epoch seconds', async () => {
    const browser = await browserLogin(broker, { user: 'bob' })
    const phone = await mobileSession('bob')
    const seen = await listSessions(broker, browser)
    const fromPhone = await phone.list()
    for (const listing of [seen, fromPhone]) {
      expect(listing.sessions.map((s) => s.kind).sort()).toEqual(['browser', 'mobile'])
      for (const s of listing.sessions) {
        expect(Math.abs(s.createdAt - nowSeconds())).toBeLessThan(60)
        expect(Math.abs(s.lastUsedAt - nowSeconds())).toBeLessThan(60)
        expect(Number.isInteger(s.createdAt) && Number.isInteger(s.lastUsedAt)).toBe(true)
      }
    }
    expect(seen.sessions.find((s) => s.current)?.kind).toBe('browser')
    expect(fromPhone.sessions.find((s) => s.current)?.kind).toBe('mobile')
    expect(seen.sessions.filter((s) => s.current)).toHaveLength(1)
    expect(fromPhone.sessions.filter((s) => s.current)).toHaveLength(1)
    expect(fromPhone.sessions.find((s) => s.kind === 'mobile')?.clientId).toBe('com.example.orders')

    const cookie = browser.cookie(broker.origin, broker.config.session.cookieName)!
    const sessionId = unsignSessionCookie(cookie, broker.config.session.secrets)!
    const { grant } = await readSessionGrant(broker, browser)
    secrets.add(cookie).add(decodeURIComponent(cookie)).add(sessionId).add(grant!.tokens.accessToken).add(grant!.tokens.refreshToken!)
    const credentials = [cookie, decodeURIComponent(cookie), sessionId, phone.handle, sessionIdOfHandle(phone.handle), grant!.id]
    for (const { id } of seen.sessions) {
      for (const credential of credentials) expect(credential).not.toContain(id)
    }
    // a public id names only its own pointer key; no key holds the cookie, the handle or a public id's session
    const keys = (await keysWithPrefix(broker.redisUrl, broker.prefix)).map((k) => k.key)
    for (const key of keys) {
      expect(key).not.toContain(phone.handle)
      expect(key).not.toContain(decodeURIComponent(cookie))
    }
    for (const { id } of seen.sessions) {
      expect(keys.filter((k) => k.includes(id))).toEqual([`${broker.prefix}pub:s:${id}`])
    }
  })

  it('when a mobile handle DELETEs a session by id (another one, then its own), then each ends at once and the handle is refused afterwards', async () => {
    const browser = await browserLogin(broker, { user: 'bob' })
    const phone = await mobileSession('bob')
    const browserId = (await listSessions(broker, browser)).sessions.find((s) => s.current)!.id
    const other = await phone.client.fetch(`/bff/sessions/${browserId}`, { method: 'DELETE' })
    expect(other.status).toBe(204)
    expect(await userStatus(broker, browser)).toBe(401)
    const ownId = (await phone.list()).sessions.find((s) => s.current)!.id
    const own = await phone.client.fetch(`/bff/sessions/${ownId}`, { method: 'DELETE' })
    expect(own.status).toBe(204)
    const after = await phone.client.fetch('/bff/user')
    expect(after.status).toBe(401)
    expect(after.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_token"/)
  })
})

describe('the listing\'s fields', () => {
  it('when a user lists their sessions, then every session has all seven fields (null where it has none) and every grant its five', async () => {
    const browser = await browserLogin(broker, { user: 'bob', offline: true })
    await mobileSession('bob')
    const res = await browser.get(`${broker.origin}/bff/sessions`, xhr)
    expect(res.headers['cache-control']).toBe('no-store')
    const listing = JSON.parse(res.body) as Listing
    for (const s of listing.sessions) {
      expect(Object.keys(s).sort()).toEqual(['clientId', 'createdAt', 'current', 'id', 'kind', 'lastUsedAt', 'userAgent'])
      expect(s.clientId === null || typeof s.clientId === 'string').toBe(true)
      expect(s.userAgent === null || typeof s.userAgent === 'string').toBe(true)
    }
    expect(listing.sessions.find((s) => s.current)).toMatchObject({ kind: 'browser', clientId: null, userAgent: 'bff-broker-test-browser' })
    expect(listing.sessions.find((s) => s.kind === 'mobile')?.clientId).toBe('com.example.orders')
    expect(listing.grants.length).toBeGreaterThanOrEqual(1)
    for (const g of listing.grants) {
      expect(Object.keys(g).sort()).toEqual(['createdAt', 'id', 'kind', 'lastUsedAt', 'scopes'])
      expect(g).toMatchObject({ kind: 'offline', createdAt: expect.any(Number), lastUsedAt: expect.any(Number), scopes: expect.any(Array) })
    }
  })
})

describe('self-service and admin ids a caller should not have', () => {
  it('when a session or grant is DELETEd a second time, then 404 not_found (self-service and admin alike), never a 500', async () => {
    const browser = await browserLogin(broker, { offline: true })
    const other = await browserLogin(broker)
    const listing = await listSessions(broker, browser)
    const otherId = (await listSessions(broker, other)).sessions.find((s) => s.current)!.id
    const ops = await jobToken(broker, 'ops')
    secrets.add(ops)
    expect((await browser.request(`${broker.origin}/bff/sessions/${otherId}`, { method: 'DELETE', ...xhr })).status).toBe(204)
    const again = await browser.request(`${broker.origin}/bff/sessions/${otherId}`, { method: 'DELETE', ...xhr })
    expect(again.status).toBe(404)
    expect(JSON.parse(again.body)).toMatchObject({ error: 'not_found', message: expect.any(String) })
    const admin = await asJob(broker, ops, `/bff/admin/sessions/${otherId}`, { method: 'DELETE' })
    expect(admin.status).toBe(404)
    expect(await admin.json()).toMatchObject({ error: 'not_found' })
    const grant = listing.grants[0]!.id
    expect((await browser.request(`${broker.origin}/bff/grants/${grant}`, { method: 'DELETE', ...xhr })).status).toBe(204)
    const relogged = await browserLogin(broker)
    const twice = await relogged.request(`${broker.origin}/bff/grants/${grant}`, { method: 'DELETE', ...xhr })
    expect(twice.status).toBe(404)
    expect(JSON.parse(twice.body)).toMatchObject({ error: 'not_found' })
  })

  it('when the ids in the paths are garbage, very long or badly percent-encoded, then 404 or 400 JSON, never a 500, and nothing ends', async () => {
    const browser = await browserLogin(broker, { user: 'bob' })
    const ops = await jobToken(broker, 'ops')
    secrets.add(ops)
    const long = 'x'.repeat(4000)
    for (const path of [`/bff/sessions/${long}`, '/bff/sessions/%3Cscript%3E', `/bff/grants/${long}`, '/bff/grants/a.b']) {
      const res = await browser.request(`${broker.origin}${path}`, { method: 'DELETE', ...xhr })
      expect(res.status, path).toBe(404)
      expect(JSON.parse(res.body), path).toMatchObject({ error: 'not_found' })
    }
    for (const path of ['/bff/sessions/%ZZ', '/bff/grants/%E0%A4']) {
      const res = await browser.request(`${broker.origin}${path}`, { method: 'DELETE', ...xhr })
      expect(res.status, path).toBe(400)
      expect(JSON.parse(res.body), path).toMatchObject({ error: 'invalid_request' })
    }
    expect((await asJob(broker, ops, `/bff/admin/sessions/${long}`, { method: 'DELETE' })).status).toBe(404)
    expect((await asJob(broker, ops, '/bff/admin/sessions/%ZZ', { method: 'DELETE' })).status).toBe(400)
    const unknown = await asJob(broker, ops, `/bff/admin/users/${long}/sessions`)
    expect(unknown.status).toBe(200)
    expect(await unknown.json()).toEqual({ sessions: [], grants: [] })
    const nobody = await asJob(broker, ops, '/bff/admin/users/j%C3%BCrgen%20x/sessions', { method: 'DELETE' })
    expect(nobody.status).toBe(200)
    expect(await nobody.json()).toEqual({ sessions: 0, grants: 0 })
    expect(await userStatus(broker, browser)).toBe(200)
  })

  it('when another method than the route\'s is used (POST/PUT on GET-only routes, GET on DELETE-only ones), then 404 JSON; HEAD on GET /bff/sessions answers as GET without a body', async () => {
    const browser = await browserLogin(broker, { user: 'bob' })
    const ops = await jobToken(broker, 'ops')
    secrets.add(ops)
    for (const [method, path] of [['POST', '/bff/sessions'], ['PUT', '/bff/sessions'], ['GET', '/bff/grants/x'], ['POST', '/bff/grants/x']] as const) {
      const res = await browser.request(`${broker.origin}${path}`, { method, ...xhr })
      expect(res.status, `${method} ${path}`).toBe(404)
      expect(JSON.parse(res.body)).toMatchObject({ error: 'not_found' })
    }
    for (const [method, path] of [['POST', '/bff/admin/users/bob/sessions'], ['GET', '/bff/admin/sessions/x'], ['PUT', '/bff/admin/sessions/x']] as const) {
      const res = await asJob(broker, ops, path, { method })
      expect(res.status, `${method} ${path}`).toBe(404)
      expect(await res.json()).toMatchObject({ error: 'not_found' })
    }
    const head = await browser.request(`${broker.origin}/bff/sessions`, { method: 'HEAD', ...xhr })
    expect(head.status).toBe(200)
    expect(head.body).toBe('')
    expect(await userStatus(broker, browser)).toBe(200)
  })
})

describe('self-service: the caller\'s own session', () => {
  it('when a browser DELETEs its own current session, then 204 clears its cookie and the session is gone', async () => {
    const browser = await browserLogin(broker, { user: 'bob' })
    const own = (await listSessions(broker, browser)).sessions.find((s) => s.current)!.id
    const res = await browser.request(`${broker.origin}/bff/sessions/${own}`, { method: 'DELETE', ...xhr })
    expect(res.status).toBe(204)
    const cleared = ([] as string[]).concat(res.headers['set-cookie'] ?? [])
    expect(cleared.some((c) => c.startsWith(`${broker.config.session.cookieName}=;`) && /Expires=Thu, 01 Jan 1970/.test(c))).toBe(true)
    expect(browser.cookie(broker.origin, broker.config.session.cookieName)).toBeUndefined()
    expect(await userStatus(broker, browser)).toBe(401)
  })

  it('when DELETE /bff/sessions/:id comes without the CSRF header, then 403 csrf_failed and the session lives', async () => {
    const browser = await browserLogin(broker, { user: 'bob' })
    const own = (await listSessions(broker, browser)).sessions.find((s) => s.current)!.id
    const res = await browser.request(`${broker.origin}/bff/sessions/${own}`, { method: 'DELETE', xhr: true })
    expect(res.status).toBe(403)
    expect(JSON.parse(res.body)).toMatchObject({ error: 'csrf_failed' })
    expect(await userStatus(broker, browser)).toBe(200)
  })
})

describe('job tokens on the administration and user routes', () => {
  it('when a job that is not an admin calls each admin route, then 403 forbidden and an admin.refused line; nothing ends', async () => {
    const browser = await browserLogin(broker, { user: 'bob' })
    const id = (await listSessions(broker, browser)).sessions.find((s) => s.current)!.id
    for (const job of ['nightly', 'narrow'] as const) {
      const token = await jobToken(broker, job)
      secrets.add(token)
      for (const [method, path] of [['GET', '/bff/admin/users/bob/sessions'], ['DELETE', '/bff/admin/users/bob/sessions'], ['DELETE', `/bff/admin/sessions/${id}`]]) {
        const res = await asJob(broker, token, path!, { method })
        expect(res.status, `${job} ${method} ${path}`).toBe(403)
        expect(await res.json()).toMatchObject({ error: 'forbidden' })
      }
    }
    expect(await userStatus(broker, browser)).toBe(200)
    const refused = logLines(broker).filter((l) => l.event === 'admin.refused')
    expect(refused.length).toBeGreaterThanOrEqual(6)
    for (const line of refused) expect(line).toMatchObject({ actor: expect.any(String), target: expect.any(String), result: 'forbidden' })
  })

  it('when a job token is sent to /bff/user or /bff/sessions, then 401: a job is no user session', async () => {
    const token = await jobToken(broker, 'nightly')
    secrets.add(token)
    for (const path of ['/bff/user', '/bff/sessions']) {
      const res = await asJob(broker, token, path)
      expect(res.status, path).toBe(401)
      expect(await res.json()).toMatchObject({ error: 'unauthorized' })
    }
  })

  it('when a browser session or no credential at all calls an admin route, then 401 with a Bearer challenge: only a job token authenticates there', async () => {
    const browser = await browserLogin(broker, { user: 'bob' })
    const res = await browser.get(`${broker.origin}/bff/admin/users/bob/sessions`, xhr)
    expect(res.status).toBe(401)
    expect(res.headers['www-authenticate']).toBe('Bearer realm="bff"')
    const bare = await fetch(`${broker.origin}/bff/admin/users/bob/sessions`, { method: 'DELETE' })
    expect(bare.status).toBe(401)
    expect(bare.headers.get('www-authenticate')).toBe('Bearer realm="bff"')
    expect(await bare.json()).toMatchObject({ error: 'unauthorized', message: expect.any(String) })
    expect(await userStatus(broker, browser)).toBe(200)
  })
})

describe('audit lines (invariant 17) and logs', () => {
  it('when a job calls on behalf of a user and an admin acts, then job.call, job.token_issued and admin.* lines carry the named fields', async () => {
    const browser = await browserLogin(broker, { offline: true })
    const { grant } = await readSessionGrant(broker, browser)
    secrets.add(grant!.tokens.accessToken).add(grant!.tokens.refreshToken!)
    const nightly = await jobToken(broker, 'nightly')
    const ops = await jobToken(broker, 'ops')
    secrets.add(nightly).add(ops)
    expect((await asJob(broker, nightly, '/api/orders/1', { sub: 'alice' })).status).toBe(200)
    secrets.add(upstream.requests.at(-1)!.headers.authorization!.slice('Bearer '.length))
    expect((await asJob(broker, nightly, '/api/reports/1')).status).toBe(200)
    secrets.add(upstream.requests.at(-1)!.headers.authorization!.slice('Bearer '.length))
    expect((await asJob(broker, nightly, '/api/orders/1', { sub: 'nobody' })).status).toBe(403)
    const listed = (await (await asJob(broker, ops, '/bff/admin/users/alice/sessions')).json()) as Listing
    const sessionId = listed.sessions[0]!.id
    // the grant's public id is not its record's id, and names only its own pointer key
    expect(grant!.id).not.toContain(listed.grants[0]!.id)
    const keys = (await keysWithPrefix(broker.redisUrl, broker.prefix)).map((k) => k.key)
    expect(keys.filter((k) => k.includes(listed.grants[0]!.id))).toEqual([`${broker.prefix}pub:g:${listed.grants[0]!.id}`])
    expect((await asJob(broker, ops, `/bff/admin/sessions/${sessionId}`, { method: 'DELETE' })).status).toBe(204)
    expect((await asJob(broker, ops, '/bff/admin/users/alice/sessions', { method: 'DELETE' })).status).toBe(200)

    const lines = logLines(broker)
    const calls = lines.filter((l) => l.event === 'job.call')
    expect(calls).toEqual(expect.arrayContaining([
      expect.objectContaining({ job: 'nightly', sub: 'alice', grant: listed.grants[0]!.id, route: '/api/orders', status: 200 }),
      expect.objectContaining({ job: 'nightly', route: '/api/reports', status: 200 }),
      expect.objectContaining({ job: 'nightly', sub: 'nobody', route: '/api/orders', status: 403 }),
    ]))
    expect(lines.filter((l) => l.event === 'job.token_issued' && l.clientId === 'ops').length).toBeGreaterThanOrEqual(1)
    expect(lines).toEqual(expect.arrayContaining([
      expect.objectContaining({ event: 'admin.list_sessions', actor: 'ops', target: 'alice', result: expect.objectContaining({ sessions: expect.any(Number) }) }),
      expect.objectContaining({ event: 'admin.end_session', actor: 'ops', target: sessionId, result: 'ended' }),
      expect.objectContaining({ event: 'admin.end_user', actor: 'ops', target: 'alice', result: expect.objectContaining({ grants: 1 }) }),
    ]))
  })

  it('when a user\'s sub is a URL (\'/\' and \':\' in it), then the admin API names it percent-encoded: lists, then ends their sessions and grant; a job acts for them by X-On-Behalf-Of', async () => {
    const sub = 'https://idp.example/u/carol'
    const browser = await browserLogin(broker, { user: sub, offline: true })
    const ops = await jobToken(broker, 'ops')
    const nightly = await jobToken(broker, 'nightly')
    secrets.add(ops).add(nightly)
    const path = `/bff/admin/users/${encodeURIComponent(sub)}/sessions`
    const listed = (await (await asJob(broker, ops, path)).json()) as Listing
    expect([listed.sessions.length, listed.grants.length]).toEqual([1, 1])
    expect((await asJob(broker, nightly, '/api/orders/1', { sub })).status).toBe(200)
    secrets.add(upstream.requests.at(-1)!.headers.authorization!.slice('Bearer '.length))
    expect((await asJob(broker, ops, path, { method: 'DELETE' })).status).toBe(200)
    expect(await userStatus(broker, browser)).toBe(401)
    expect((await asJob(broker, nightly, '/api/orders/1', { sub })).status).toBe(403)
    expect(((await (await asJob(broker, ops, path)).json()) as Listing).sessions).toEqual([])
  })

  it('when every test of this file ran, then no log line holds a job token, job secret, handle, cookie, session id or provider token', () => {
    expect(secrets.size).toBeGreaterThan(10)
    for (const line of broker.logs) {
      for (const secret of secrets) expect(line.includes(secret), `a credential in: ${line.slice(0, 200)}`).toBe(false)
    }
  })
})
