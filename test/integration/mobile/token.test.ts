import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateDpopKey, makeProof } from '../../../examples/mobile-client.js'
import { startBrokerWithUpstream, type TestBroker } from '../../support/start-app.js'
import { BEARER_APP, CUSTOM_SCHEME_REDIRECT } from '../../support/mobile.js'
import { createTestClock } from '../../support/clock.js'
import {
  extractableDpopKey, manualLogin, mobileBrokerConfig, proofFor, rawCall, redeem, storedForHandle, tokenUrl, withHandle,
} from './support.js'
import { sessionIdOfHandle } from '../../../src/mobile/handles.js'
import { keysWithPrefix } from '../../support/redis.js'
import { redisKeys } from '../../../src/session/keys.js'

// POST /bff/mobile/token (invariant 15): the handoff code works once, within its TTL, only with the verifier of its
// challenge, the same client_id and redirect_uri and, for DPoP apps, a proof from the bound key.

const HANDOFF_TTL = 30
const clock = createTestClock()
let broker: TestBroker
let stop: () => Promise<void>
beforeAll(async () => {
  ;({ broker, stop } = await startBrokerWithUpstream((url) => ({
    name: 'mobile-token',
    clock,
    config: mobileBrokerConfig(url, { handoffTtlSeconds: HANDOFF_TTL }),
  })))
})
afterAll(() => stop())

const userWith = (handle: string, key: Awaited<ReturnType<typeof generateDpopKey>>) => withHandle(broker, '/bff/user', handle, { key })

function expectRefused(answer: { status: number; headers: Headers; body: Record<string, unknown> }, error: string) {
  expect(answer.status).toBe(400)
  expect(answer.body.error).toBe(error)
  expect(answer.body).not.toHaveProperty('access_token')
  expect(answer.headers.get('cache-control')).toBe('no-store')
}

describe('POST /bff/mobile/token: the code', () => {
  it('when the code_verifier is wrong, then 400 invalid_grant', async () => {
    const login = await manualLogin(broker)
    expectRefused(await redeem(broker, login, { fields: { code_verifier: 'x'.repeat(43) } }), 'invalid_grant')
    expectRefused(await redeem(broker, await manualLogin(broker), { fields: { code_verifier: undefined } }), 'invalid_grant')
  })

  it('when the code is used a second time, then 400 invalid_grant and the handle of the first redemption is dead (RFC 6749 §4.1.2)', async () => {
    const login = await manualLogin(broker)
    const first = await redeem(broker, login)
    expect(first.status).toBe(200)
    const handle = first.body.access_token as string
    expect((await userWith(handle, login.key)).status).toBe(200)
    expectRefused(await redeem(broker, login), 'invalid_grant')
    expect((await userWith(handle, login.key)).status).toBe(401)
    expect((await storedForHandle(broker, handle)).session).toBeUndefined()
  })

  it('when the code has expired by the broker clock, then 400 invalid_grant', async () => {
    const login = await manualLogin(broker)
    clock.advance((HANDOFF_TTL + 1) * 1000)
    try {
      const proof = await proofFor(login.key, 'POST', tokenUrl(broker), undefined, { iat: Math.floor(clock.now() / 1000) })
      expectRefused(await redeem(broker, login, { proof }), 'invalid_grant')
    } finally {
      clock.advance(-(HANDOFF_TTL + 1) * 1000)
    }
  })

  it('when the client_id is another app or unknown, then 400 invalid_grant', async () => {
    expectRefused(await redeem(broker, await manualLogin(broker), { fields: { client_id: BEARER_APP } }), 'invalid_grant')
    expectRefused(await redeem(broker, await manualLogin(broker), { fields: { client_id: 'com.example.unknown' } }), 'invalid_grant')
    expectRefused(await redeem(broker, await manualLogin(broker), { fields: { client_id: undefined } }), 'invalid_grant')
  })

  it('when the redirect_uri is not the one of the authorize request, then 400 invalid_grant', async () => {
    expectRefused(await redeem(broker, await manualLogin(broker), { fields: { redirect_uri: CUSTOM_SCHEME_REDIRECT } }), 'invalid_grant')
    expectRefused(await redeem(broker, await manualLogin(broker), { fields: { redirect_uri: undefined } }), 'invalid_grant')
  })

  it('when the code is unknown or malformed, then 400 invalid_grant', async () => {
    const login = await manualLogin(broker)
    expectRefused(await redeem(broker, login, { fields: { code: 'A'.repeat(43) } }), 'invalid_grant')
    expectRefused(await redeem(broker, login, { fields: { code: 'not a code' } }), 'invalid_grant')
    expect((await redeem(broker, login)).status).toBe(200)
  })

  it('when two redemptions of one code run in parallel, then exactly one gets 200 and the other 400 invalid_grant', async () => {
    const grantKeys = async () => (await keysWithPrefix(broker.redisUrl, broker.prefix)).filter((k) => k.key.includes(':grant:')).length
    const before = await grantKeys()
    const login = await manualLogin(broker)
    const answers = await Promise.all([redeem(broker, login), redeem(broker, login)])
    expect(answers.map((a) => a.status).sort()).toEqual([200, 400])
    expect(answers.find((a) => a.status === 400)?.body.error).toBe('invalid_grant')
    // a second use ends what the code made, whichever request came second
    const handle = answers.find((a) => a.status === 200)!.body.access_token as string
    expect((await userWith(handle, login.key)).status).toBe(401)
    expect((await storedForHandle(broker, handle)).session).toBeUndefined()
    // and its grant is not written back by the redemption that lost the race to the ending
    expect(await grantKeys()).toBe(before)
  })

  it('when the grant_type is not authorization_code, then 400 unsupported_grant_type', async () => {
    const login = await manualLogin(broker)
    for (const grantType of ['refresh_token', 'client_credentials', 'password', 'AUTHORIZATION_CODE']) {
      expectRefused(await redeem(broker, login, { fields: { grant_type: grantType } }), 'unsupported_grant_type')
    }
    expect((await redeem(broker, login)).status).toBe(200)
  })

  it('when grant_type or code is missing, or a parameter is repeated, then 400 invalid_request and the code still works (RFC 6749 §3.2, §5.2)', async () => {
    const login = await manualLogin(broker)
    expectRefused(await redeem(broker, login, { fields: { grant_type: undefined } }), 'invalid_request')
    expectRefused(await redeem(broker, login, { fields: { code: undefined } }), 'invalid_request')
    expectRefused(await redeem(broker, login, { fields: { code: '' } }), 'invalid_request')
    for (const name of ['grant_type', 'client_id', 'code', 'code_verifier', 'redirect_uri']) {
      expectRefused(await redeem(broker, login, { repeat: name }), 'invalid_request')
    }
    expect((await redeem(broker, login)).status).toBe(200)
  })

  it('when the parameters come as a JSON body instead of a form, then 400 invalid_request and the code still works (RFC 6749 §4.1.3)', async () => {
    const login = await manualLogin(broker)
    const answer = await redeem(broker, login, { json: true })
    expectRefused(answer, 'invalid_request')
    expect(answer.body.message).toEqual(expect.any(String))
    expect((await redeem(broker, login)).status).toBe(200)
  })
})

describe('POST /bff/mobile/token: the DPoP proof (RFC 9449 §10)', () => {
  it('when the proof comes from another key than dpop_jkt, then 400 invalid_dpop_proof and the code is spent', async () => {
    const login = await manualLogin(broker)
    const proof = await proofFor(await generateDpopKey(), 'POST', tokenUrl(broker))
    expectRefused(await redeem(broker, login, { proof }), 'invalid_dpop_proof')
    expectRefused(await redeem(broker, login), 'invalid_grant')
  })

  it('when a DPoP app sends no proof, then 400 invalid_dpop_proof and the code still works with one', async () => {
    const login = await manualLogin(broker)
    expectRefused(await redeem(broker, login, { proof: null }), 'invalid_dpop_proof')
    const bad = await proofFor(login.key, 'GET', tokenUrl(broker))
    expectRefused(await redeem(broker, login, { proof: bad }), 'invalid_dpop_proof')
    const ok = await redeem(broker, login)
    expect(ok.status).toBe(200)
    expect(ok.body.token_type).toBe('DPoP')
  })

  it('when the proof is sent twice, holds a private jwk, names another htu or lies ahead beyond the window, then 400 invalid_dpop_proof and the code still works', async () => {
    const { key, privateJwk } = await extractableDpopKey()
    const login = await manualLogin(broker, { key })
    const url = tokenUrl(broker)
    const bad = [
      await makeProof(key, { htm: 'POST', htu: url, jwk: privateJwk }),
      await makeProof(key, { htm: 'POST', htu: `${url}/` }),
      await makeProof(key, { htm: 'POST', htu: url.replace('http:', 'https:') }),
      await makeProof(key, { htm: 'POST', htu: url, iat: Math.floor(clock.now() / 1000) + 61 }),
    ]
    for (const proof of bad) expectRefused(await redeem(broker, login, { proof }), 'invalid_dpop_proof')
    const form = new URLSearchParams({
      grant_type: 'authorization_code', client_id: login.clientId, code: login.code, code_verifier: login.verifier, redirect_uri: login.redirectUri,
    })
    const twice = await rawCall(broker, 'POST', '/bff/mobile/token', [
      ['Content-Type', 'application/x-www-form-urlencoded'],
      ['DPoP', await proofFor(key, 'POST', url)],
      ['DPoP', await proofFor(key, 'POST', url)],
    ], form.toString())
    expect(twice.status).toBe(400)
    expect(twice.body.error).toBe('invalid_dpop_proof')
    expect((await redeem(broker, login)).status).toBe(200)
  })

  it('when a bearer app redeems, then no proof is needed and the handle is a Bearer token', async () => {
    const login = await manualLogin(broker, { clientId: BEARER_APP })
    const ok = await redeem(broker, login)
    expect(ok.status).toBe(200)
    expect(ok.body.token_type).toBe('Bearer')
    const user = await withHandle(broker, '/bff/user', ok.body.access_token as string, { scheme: 'Bearer' })
    expect(user.status).toBe(200)
  })
})

describe('POST /bff/mobile/token: answers and lifetimes', () => {
  it('when the token endpoint answers, then every answer carries Cache-Control: no-store', async () => {
    const login = await manualLogin(broker)
    const answers = [
      await redeem(broker, login, { fields: { grant_type: 'password' } }),
      await redeem(broker, login, { proof: null }),
      await redeem(broker, login),
      await redeem(broker, login),
    ]
    expect(answers.map((a) => a.status)).toEqual([400, 400, 200, 400])
    for (const answer of answers) expect(answer.headers.get('cache-control')).toBe('no-store')
    const malformed = await fetch(tokenUrl(broker), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"grant_type":' })
    expect(malformed.status).toBe(400)
    expect(malformed.headers.get('cache-control')).toBe('no-store')
  })

  it('when a mobile callback is never redeemed, then its session record and grant expire with the handoff code', async () => {
    const login = await manualLogin(broker, { user: 'bob' })
    const keys = await keysWithPrefix(broker.redisUrl, broker.prefix)
    const sessionKeys = keys.filter((k) => k.key.includes(':sess:'))
    const handoff = keys.filter((k) => k.key.includes(':handoff:'))
    expect(handoff.length).toBeGreaterThan(0)
    for (const k of handoff) expect(k.ttlMs).toBeLessThanOrEqual(HANDOFF_TTL * 1000)
    // the newest session record is this login's: no handle is known to the test, so find it by its grant
    const pending = await Promise.all(sessionKeys.map(async (k) => ({ k, ...(await recordOf(k.key)) })))
    const mine = pending.filter((p) => p.handoffUntil !== undefined && p.sub === 'bob')
    expect(mine.length).toBeGreaterThan(0)
    for (const p of mine) {
      expect(p.k.ttlMs).toBeGreaterThan(0)
      expect(p.k.ttlMs).toBeLessThanOrEqual(HANDOFF_TTL * 1000)
      const grant = keys.find((k) => k.key === redisKeys(broker.prefix).grant(p.grantId ?? ''))
      expect(grant?.ttlMs).toBeGreaterThan(0)
      expect(grant?.ttlMs).toBeLessThanOrEqual(HANDOFF_TTL * 1000)
    }
    expect(login.code).toBeTruthy()
  })

  it('when the code is redeemed, then the session and grant live by the mobile timeouts and expires_in is the time left to the absolute one', async () => {
    const login = await manualLogin(broker)
    clock.advance(10_000)
    try {
      const proof = await proofFor(login.key, 'POST', tokenUrl(broker), undefined, { iat: Math.floor(clock.now() / 1000) })
      const ok = await redeem(broker, login, { proof })
      expect(ok.status).toBe(200)
      const { absoluteTimeoutSeconds, idleTimeoutSeconds } = broker.config.mobile
      expect(ok.body.expires_in).toBe(absoluteTimeoutSeconds - 10)
      const stored = await storedForHandle(broker, ok.body.access_token as string)
      expect(stored.session?.handoffUntil).toBeUndefined()
      expect(stored.sessionTtlMs).toBeGreaterThan((idleTimeoutSeconds - 5) * 1000)
      expect(stored.grantTtlMs).toBeGreaterThan((absoluteTimeoutSeconds - 60) * 1000)
      expect(sessionIdOfHandle(ok.body.access_token as string)).not.toBe(ok.body.access_token)
    } finally {
      clock.advance(-10_000)
    }
  })
})

async function recordOf(key: string): Promise<{ sub?: string; grantId?: string; handoffUntil?: number }> {
  const { Redis } = await import('ioredis')
  const redis = new Redis(broker.redisUrl)
  try {
    const raw = await redis.get(key)
    return raw ? ((JSON.parse(raw) as { broker: { sub?: string; grantId?: string; handoffUntil?: number } }).broker ?? {}) : {}
  } finally {
    redis.disconnect()
  }
}
