import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { completeProviderLogout, type Browser } from '../../support/browser.js'
import { readSessionGrant } from '../../support/grants.js'
import type { RunningOidcProvider } from '../../support/oidc-provider.js'
import type { TestBroker } from '../../support/start-app.js'
import type { Upstream } from '../../support/upstream.js'
import { createTestClock } from '../../support/clock.js'
import { redisKeys } from '../../../src/session/keys.js'
import {
  asJob, browserLogin, jobToken, listSessions, logLines, offlineConfig, providerRefresh, revokeAtProvider,
  startClockedInstances, userStatus, xhr,
} from './offline.js'

// Offline grants end for good: revoked by their user or an admin (at the provider too), refused by the provider
// (dropped, not retried), or unused for jobs.offlineGrantIdleSeconds. The newest usable one serves.

const ACCESS_TTL = 60
const IDLE_SECONDS = 7200
// advanced by ACCESS_TTL + 1 at most four times: every later login stays within the ID token's iat window (300 s)
const clock = createTestClock()
let broker: TestBroker
let idp: RunningOidcProvider
let upstream: Upstream
let redis: Redis
let stop: () => Promise<void>
beforeAll(async () => {
  let brokers: TestBroker[]
  ;({ brokers, idp, upstream, stop } = await startClockedInstances({
    name: 'jobs-offline',
    count: 1,
    clock,
    idp: { accessTokenTtlSeconds: ACCESS_TTL },
    config: (url) => offlineConfig(url, { offlineGrantIdleSeconds: IDLE_SECONDS }),
  }))
  broker = brokers[0]!
  redis = new Redis(broker.redisUrl)
})
afterAll(async () => {
  redis?.disconnect()
  await stop?.()
})

const expireAccessTokens = () => clock.advance((ACCESS_TTL + 1) * 1000)
const providerCalls = () => idp.counts.refreshTokenGrants + idp.counts.grantErrors
const lastCall = () => logLines(broker).filter((l) => l.event === 'job.call').at(-1)

/** the offline grant of a login just made (the newest in the listing) */
async function offlineGrantOf(browser: Browser) {
  const { grant } = await readSessionGrant(broker, browser)
  const listing = await listSessions(broker, browser)
  return { grantId: grant!.id, refreshToken: grant!.tokens.refreshToken!, publicId: listing.grants[0]!.id }
}

describe('revoking an offline grant', () => {
  it('when the user DELETEs /bff/grants/:id, then the provider refuses its refresh token, the job gets 403 no_offline_grant and the sessions on that grant end', async () => {
    const offline = await browserLogin(broker, { offline: true })
    const plain = await browserLogin(broker)
    const job = await jobToken(broker, 'nightly')
    expect((await asJob(broker, job, '/api/orders/1', { sub: 'alice' })).status).toBe(200)
    const { grantId, refreshToken, publicId } = await offlineGrantOf(offline)
    expect((await listSessions(broker, plain)).grants.map((g) => g.id)).toEqual([publicId])

    const bob = await browserLogin(broker, { user: 'bob' })
    expect((await bob.request(`${broker.origin}/bff/grants/${publicId}`, { method: 'DELETE', ...xhr })).status).toBe(404)
    const hints = idp.counts.revocationHints.length
    const del = await plain.request(`${broker.origin}/bff/grants/${publicId}`, { method: 'DELETE', ...xhr })
    expect(del.status).toBe(204)
    // RFC 7009: the refresh token, and the grant's still-live access token
    expect(idp.counts.revocationHints.slice(hints).sort()).toEqual(['access_token', 'refresh_token'])
    expect(await providerRefresh(idp, refreshToken)).toEqual({ status: 400, error: 'invalid_grant' })

    const seen = upstream.requests.length
    const after = await asJob(broker, job, '/api/orders/2', { sub: 'alice' })
    expect(after.status).toBe(403)
    expect(await after.json()).toMatchObject({ error: 'no_offline_grant' })
    expect(upstream.requests.length).toBe(seen)
    expect(await userStatus(broker, offline)).toBe(401)
    expect(await userStatus(broker, plain)).toBe(200)
    expect((await listSessions(broker, plain)).grants).toEqual([])
    expect(await redis.exists(redisKeys(broker.prefix).grant(grantId), redisKeys(broker.prefix).offlineGrant(grantId), redisKeys(broker.prefix).publicGrant(publicId))).toBe(0)
  })

  it('when the provider sends a back-channel logout for the user, then the sessions end and the offline grant stays: the job still acts for the user', async () => {
    const browser = await browserLogin(broker, { offline: true })
    const { publicId } = await offlineGrantOf(browser)
    const logouts = idp.counts.backchannelLogouts
    await completeProviderLogout(browser, new URL('/session/end', idp.issuer))
    await expect.poll(() => idp.counts.backchannelLogouts, { timeout: 5000 }).toBe(logouts + 1)
    await expect.poll(() => userStatus(broker, browser), { timeout: 5000 }).toBe(401)
    const job = await jobToken(broker, 'nightly')
    expect((await asJob(broker, job, '/api/orders/1', { sub: 'alice' })).status).toBe(200)
    expect(lastCall()).toMatchObject({ sub: 'alice', grant: publicId, status: 200 })
    // the user (in a new session) still sees the grant and revokes it
    const again = await browserLogin(broker)
    expect((await listSessions(broker, again)).grants.map((g) => g.id)).toEqual([publicId])
    expect((await again.request(`${broker.origin}/bff/grants/${publicId}`, { method: 'DELETE', ...xhr })).status).toBe(204)
  })

  it('when an admin signs a user out everywhere, then every refresh token of the user is revoked at the provider', async () => {
    const offline = await browserLogin(broker, { user: 'bob', offline: true })
    const plain = await browserLogin(broker, { user: 'bob' })
    const tokens = [(await readSessionGrant(broker, offline)).grant!, (await readSessionGrant(broker, plain)).grant!]
    const ops = await jobToken(broker, 'ops')
    const res = await asJob(broker, ops, '/bff/admin/users/bob/sessions', { method: 'DELETE' })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ sessions: expect.any(Number), grants: 1 })
    for (const grant of tokens) expect(await providerRefresh(idp, grant.tokens.refreshToken!)).toEqual({ status: 400, error: 'invalid_grant' })
    expect(await userStatus(broker, offline)).toBe(401)
    expect(await userStatus(broker, plain)).toBe(401)
  })
})

describe('a grant the provider refuses, several grants, the idle timeout', () => {
  it('when an offline grant\'s refresh fails with invalid_grant, then it is dropped: 403 no_offline_grant now and later, with no second provider call', async () => {
    const browser = await browserLogin(broker, { user: 'bob', offline: true })
    const job = await jobToken(broker, 'nightly')
    expect((await asJob(broker, job, '/api/orders/1', { sub: 'bob' })).status).toBe(200)
    await revokeAtProvider(idp, (await offlineGrantOf(browser)).refreshToken)
    expireAccessTokens()
    const before = providerCalls()
    const first = await asJob(broker, job, '/api/orders/2', { sub: 'bob' })
    expect(first.status).toBe(403)
    expect(await first.json()).toMatchObject({ error: 'no_offline_grant' })
    expect(idp.counts.grantErrorCodes.at(-1)).toBe('invalid_grant')
    expect(providerCalls()).toBe(before + 1)
    for (let i = 0; i < 3; i++) {
      const again = await asJob(broker, job, '/api/orders/3', { sub: 'bob' })
      expect(again.status).toBe(403)
      expect(await again.json()).toMatchObject({ error: 'no_offline_grant' })
    }
    expect(providerCalls()).toBe(before + 1)
    expect(await userStatus(broker, browser)).toBe(401)
  })

  it('when the browser\'s own refresh of its offline grant fails with invalid_grant, then that grant is listed no more and the job gets 403 no_offline_grant', async () => {
    const browser = await browserLogin(broker, { user: 'bob', offline: true })
    const other = await browserLogin(broker, { user: 'bob' })
    expect((await listSessions(broker, other)).grants).toHaveLength(1)
    await revokeAtProvider(idp, (await offlineGrantOf(browser)).refreshToken)
    expireAccessTokens()
    const api = await browser.get(`${broker.origin}/api/orders/1`, xhr)
    expect(api.status).toBe(401)
    expect(JSON.parse(api.body)).toMatchObject({ error: 'session_expired' })
    expect((await listSessions(broker, other)).grants).toEqual([])
    const before = providerCalls()
    const job = await asJob(broker, await jobToken(broker, 'nightly'), '/api/orders/2', { sub: 'bob' })
    expect(job.status).toBe(403)
    expect(providerCalls()).toBe(before)
  })

  it('when a user has several offline grants, then the newest usable one serves: the newest, and once the provider refuses it, the older one', async () => {
    const older = await browserLogin(broker, { offline: true })
    const o = await offlineGrantOf(older)
    clock.advance(1000) // the test clock stands still: one second between the two logins
    const newer = await browserLogin(broker, { offline: true })
    const n = await offlineGrantOf(newer)
    expect((await listSessions(broker, newer)).grants.map((g) => g.id)).toEqual([n.publicId, o.publicId])
    const job = await jobToken(broker, 'nightly')
    expect((await asJob(broker, job, '/api/orders/1', { sub: 'alice' })).status).toBe(200)
    expect(lastCall()).toMatchObject({ sub: 'alice', grant: n.publicId })

    await revokeAtProvider(idp, n.refreshToken)
    expireAccessTokens()
    expect((await asJob(broker, job, '/api/orders/2', { sub: 'alice' })).status).toBe(200)
    expect(lastCall()).toMatchObject({ sub: 'alice', grant: o.publicId, status: 200 })
    expect((await listSessions(broker, older)).grants.map((g) => g.id)).toEqual([o.publicId])
    expect(await userStatus(broker, newer)).toBe(401)
  })

  it('when jobs.offlineGrantIdleSeconds is set, then the grant lives that long in Redis and each use (at most once a minute) slides it', async () => {
    const browser = await browserLogin(broker, { user: 'bob', offline: true })
    const { grantId, publicId } = await offlineGrantOf(browser)
    const k = redisKeys(broker.prefix)
    const keys = [k.grant(grantId), k.offlineGrant(grantId), k.publicGrant(publicId)]
    for (const key of keys) expect(await redis.ttl(key)).toBeGreaterThan(IDLE_SECONDS - 30)
    const job = await jobToken(broker, 'nightly')
    // as if most of the idle time had passed
    const age = async () => Promise.all(keys.map((key) => redis.expire(key, 100)))
    const slid = async () => {
      for (let i = 0; i < 50; i++) {
        const ttls = await Promise.all(keys.map((key) => redis.ttl(key)))
        if (ttls.every((t) => t > IDLE_SECONDS - 30)) return true
        await sleep(20)
      }
      return false
    }
    await age()
    expect((await asJob(broker, job, '/api/orders/1', { sub: 'bob' })).status).toBe(200)
    expect(await slid()).toBe(true)
    await age()
    expect((await asJob(broker, job, '/api/orders/2', { sub: 'bob' })).status).toBe(200)
    await sleep(100)
    for (const key of keys) expect(await redis.ttl(key)).toBeLessThanOrEqual(100)
    expireAccessTokens()
    expect((await asJob(broker, job, '/api/orders/3', { sub: 'bob' })).status).toBe(200)
    expect(await slid()).toBe(true)
    const listed = (await listSessions(broker, browser)).grants.find((g) => g.id === publicId)!
    expect(listed.lastUsedAt).toBe(Math.floor(clock.now() / 1000))
  })
})
