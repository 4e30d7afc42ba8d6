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

  it('when a browser session calls an admin route, then 401: only a job token authenticates there', async () => {
    const browser = await browserLogin(broker, { user: 'bob' })
    expect((await browser.get(`${broker.origin}/bff/admin/users/bob/sessions`, xhr)).status).toBe(401)
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

  it('when every test of this file ran, then no log line holds a job token, job secret, handle, cookie, session id or provider token', () => {
    expect(secrets.size).toBeGreaterThan(10)
    for (const line of broker.logs) {
      for (const secret of secrets) expect(line.includes(secret), `a credential in: ${line.slice(0, 200)}`).toBe(false)
    }
  })
})
