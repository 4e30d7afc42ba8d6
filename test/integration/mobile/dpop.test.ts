import { createHmac, randomBytes, randomUUID } from 'node:crypto'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { athFor, generateDpopKey, makeProof, type DpopKey, type ProofOptions } from '../../../examples/mobile-client.js'
import { createBrowser, login, startBrokerWithUpstream, type TestBroker } from '../../support/start-app.js'
import type { Upstream } from '../../support/upstream.js'
import { BEARER_APP } from '../../support/mobile.js'
import { openWebSocket } from '../../support/websocket.js'
import { extractableDpopKey, loggedIn, mobileBrokerConfig, proofFor, rawCall, withHandle } from './support.js'

// The handle in use (invariant 16): a DPoP-bound handle is useless without a fresh proof from its key, and a
// refused request never reaches an upstream.

let broker: TestBroker
let upstream: Upstream
let stop: () => Promise<void>
let handle: string
let key: DpopKey
let bearerHandle: string
beforeAll(async () => {
  ;({ broker, upstream, stop } = await startBrokerWithUpstream((url) => ({ name: 'mobile-dpop', config: mobileBrokerConfig(url) })))
  ;({ handle, key } = await loggedIn(broker))
  ;({ handle: bearerHandle } = await loggedIn(broker, { clientId: BEARER_APP }))
})
afterAll(() => stop())

const API = '/api/orders/42'
const apiUrl = () => `${broker.origin}${API}`
let seen = 0
beforeEach(() => {
  seen = upstream.requests.length
})

/** 401 invalid_dpop_proof with the DPoP challenge (RFC 9449 §7.1), and the upstream never called. */
async function expectBadProof(res: Response) {
  expect(res.status).toBe(401)
  expect(await res.json()).toMatchObject({ error: 'invalid_dpop_proof' })
  expect(res.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_dpop_proof"/)
  expect(upstream.requests.length).toBe(seen)
}

async function expectInvalidToken(res: Response, scheme: 'DPoP' | 'Bearer', error = 'unauthorized') {
  expect(res.status).toBe(401)
  expect(await res.json()).toMatchObject({ error })
  expect(res.headers.get('www-authenticate')).toMatch(new RegExp(`^${scheme} error="invalid_token"`))
  expect(upstream.requests.length).toBe(seen)
}

const claims = (extra: Partial<ProofOptions> = {}): ProofOptions => ({
  htm: 'GET', htu: apiUrl(), iat: Math.floor(Date.now() / 1000), jti: randomUUID(), ath: athFor(handle), ...extra,
})
const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const api = (proof: string | null) => withHandle(broker, API, handle, { proof })

describe('the DPoP proof of a handle (RFC 9449 §4.3)', () => {
  it('when the handle comes with a fresh proof from its key, then the API call goes through without a CSRF header', async () => {
    const res = await withHandle(broker, API, handle, { key })
    expect(res.status).toBe(200)
    expect(upstream.requests.length).toBe(seen + 1)
    expect(upstream.requests.at(-1)!.headers.dpop).toBeUndefined()
  })

  it('when the proof is signed by another key, then 401 invalid_dpop_proof', async () => {
    await expectBadProof(await api(await proofFor(await generateDpopKey(), 'GET', apiUrl(), handle)))
  })

  it('when the same proof is sent twice, then the replayed jti is refused', async () => {
    const proof = await proofFor(key, 'GET', apiUrl(), handle)
    expect((await api(proof)).status).toBe(200)
    seen = upstream.requests.length
    await expectBadProof(await api(proof))
  })

  it('when htm is not the request method, then 401 invalid_dpop_proof', async () => {
    await expectBadProof(await api(await makeProof(key, claims({ htm: 'POST' }))))
  })

  it('when htu names another path, then 401 invalid_dpop_proof', async () => {
    await expectBadProof(await api(await makeProof(key, claims({ htu: `${broker.origin}/api/orders/43` }))))
  })

  it('when htu names another origin, then 401 invalid_dpop_proof', async () => {
    const other = new URL(broker.origin)
    other.port = String(Number(other.port) + 1)
    await expectBadProof(await api(await makeProof(key, claims({ htu: `${other.origin}${API}` }))))
    await expectBadProof(await api(await makeProof(key, claims({ htu: `https://127.0.0.1:${new URL(broker.origin).port}${API}` }))))
  })

  it('when iat is older than 60 s, then 401 invalid_dpop_proof', async () => {
    await expectBadProof(await api(await makeProof(key, claims({ iat: Math.floor(Date.now() / 1000) - 61 }))))
    await expectBadProof(await api(await makeProof(key, claims({ iat: Math.floor(Date.now() / 1000) + 120 }))))
  })

  it('when ath is not the hash of the handle, or missing, then 401 invalid_dpop_proof', async () => {
    await expectBadProof(await api(await makeProof(key, claims({ ath: athFor(`${handle}x`) }))))
    await expectBadProof(await api(await makeProof(key, { htm: 'GET', htu: apiUrl() })))
  })

  it('when the proof says alg none, then 401 invalid_dpop_proof', async () => {
    const header = { alg: 'none', typ: 'dpop+jwt', jwk: key.publicJwk }
    await expectBadProof(await api(`${part(header)}.${part(claims())}.`))
    await expectBadProof(await api(`${part(header)}.${part(claims())}.AAAA`))
  })

  it('when the proof is an HS256 MAC (hand-crafted), then 401 invalid_dpop_proof', async () => {
    const secret = randomBytes(32)
    for (const jwk of [key.publicJwk, { kty: 'oct', k: secret.toString('base64url') }]) {
      const input = `${part({ alg: 'HS256', typ: 'dpop+jwt', jwk })}.${part(claims())}`
      await expectBadProof(await api(`${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`))
    }
  })

  it('when the typ is not dpop+jwt, then 401 invalid_dpop_proof', async () => {
    await expectBadProof(await api(await makeProof(key, { ...claims(), typ: 'JWT' })))
  })

  it('when htu has a trailing slash or the other scheme, then 401 invalid_dpop_proof', async () => {
    await expectBadProof(await api(await makeProof(key, claims({ htu: `${apiUrl()}/` }))))
    await expectBadProof(await api(await makeProof(key, claims({ htu: apiUrl().replace('http:', 'https:') }))))
  })

  it('when the proof header jwk is the private key (member d), then 401 invalid_dpop_proof', async () => {
    const { key: own, privateJwk } = await extractableDpopKey()
    const session = await loggedIn(broker, { key: own })
    const proof = await makeProof(own, { htm: 'GET', htu: apiUrl(), ath: athFor(session.handle), jwk: privateJwk })
    await expectBadProof(await withHandle(broker, API, session.handle, { proof }))
    expect((await withHandle(broker, API, session.handle, { key: own })).status).toBe(200)
  })

  it('when two DPoP headers are sent, then 401 invalid_dpop_proof (RFC 9449 §4.3: exactly one)', async () => {
    const twice = await rawCall(broker, 'GET', API, [
      ['Authorization', `DPoP ${handle}`],
      ['DPoP', await proofFor(key, 'GET', apiUrl(), handle)],
      ['DPoP', await proofFor(key, 'GET', apiUrl(), handle)],
    ])
    expect(twice.status).toBe(401)
    expect(twice.body.error).toBe('invalid_dpop_proof')
    expect(twice.raw).toMatch(/\r\nWWW-Authenticate: DPoP error="invalid_dpop_proof"/i)
    expect(upstream.requests.length).toBe(seen)
  })

  it('when there is no proof at all, then 401 invalid_dpop_proof', async () => {
    await expectBadProof(await api(null))
    await expectBadProof(await withHandle(broker, '/bff/user', handle, { proof: null }))
  })
})

describe('the handle itself', () => {
  it('when a DPoP-bound handle is sent as Bearer, then 401 and nothing reaches the upstream', async () => {
    const res = await withHandle(broker, API, handle, { scheme: 'Bearer', proof: await proofFor(key, 'GET', apiUrl(), handle) })
    await expectInvalidToken(res, 'DPoP')
  })

  it('when the handle is unknown or garbage, then 401 unauthorized with WWW-Authenticate: DPoP error="invalid_token"', async () => {
    const unknown = `bffm_${randomBytes(32).toString('base64url')}`
    await expectInvalidToken(await withHandle(broker, API, unknown, { key }), 'DPoP')
    await expectInvalidToken(await withHandle(broker, API, 'garbage', { key }), 'DPoP')
    await expectInvalidToken(await withHandle(broker, '/bff/user', `${handle}x`, { key }), 'DPoP')
  })

  it('when an unknown or revoked handle comes without a proof or with a bad one, then still 401 unauthorized with DPoP error="invalid_token"', async () => {
    const unknown = `bffm_${randomBytes(32).toString('base64url')}`
    await expectInvalidToken(await withHandle(broker, API, unknown, { proof: null }), 'DPoP')
    await expectInvalidToken(await withHandle(broker, '/bff/user', unknown, { proof: 'not-a-proof' }), 'DPoP')
    const revoked = await loggedIn(broker)
    expect((await withHandle(broker, '/bff/mobile/logout', revoked.handle, { key: revoked.key, method: 'POST' })).status).toBe(204)
    await expectInvalidToken(await withHandle(broker, API, revoked.handle, { proof: null }), 'DPoP')
    await expectInvalidToken(await withHandle(broker, API, revoked.handle, { key: await generateDpopKey() }), 'DPoP')
  })

  it('when a bearer app sends an unknown handle, then 401 unauthorized with WWW-Authenticate: Bearer error="invalid_token"', async () => {
    const unknown = `bffm_${randomBytes(32).toString('base64url')}`
    await expectInvalidToken(await withHandle(broker, API, unknown, { scheme: 'Bearer' }), 'Bearer')
    await expectInvalidToken(await withHandle(broker, API, 'bffm_short', { scheme: 'Bearer' }), 'Bearer')
    const ok = await withHandle(broker, API, bearerHandle, { scheme: 'Bearer' })
    expect(ok.status).toBe(200)
  })

  it('when two Authorization headers are sent, then 400 invalid_request and nothing reaches the upstream (RFC 6750 §3.1)', async () => {
    const twice = await rawCall(broker, 'GET', API, [
      ['Authorization', `DPoP ${handle}`],
      ['Authorization', `Bearer ${bearerHandle}`],
      ['DPoP', await proofFor(key, 'GET', apiUrl(), handle)],
    ])
    expect(twice.status).toBe(400)
    expect(twice.body).toMatchObject({ error: 'invalid_request', message: expect.any(String) })
    expect(upstream.requests.length).toBe(seen)
  })

  it('when the handle comes in the query string or a form body (RFC 6750 §2.2, §2.3), then it is no credential: 401 and nothing reaches the upstream', async () => {
    const inQuery = await fetch(`${apiUrl()}?access_token=${handle}`, { headers: { 'x-csrf': '1', dpop: await proofFor(key, 'GET', apiUrl(), handle) } })
    expect(inQuery.status).toBe(401)
    expect(await inQuery.json()).toMatchObject({ error: 'unauthorized' })
    const inForm = await fetch(apiUrl(), {
      method: 'POST',
      headers: { 'x-csrf': '1', 'content-type': 'application/x-www-form-urlencoded', dpop: await proofFor(key, 'POST', apiUrl(), handle) },
      body: new URLSearchParams({ access_token: handle }),
    })
    expect(inForm.status).toBe(401)
    const user = await fetch(`${broker.origin}/bff/user?access_token=${handle}`, { headers: { 'x-csrf': '1' } })
    expect(user.status).toBe(401)
    expect(upstream.requests.length).toBe(seen)
  })

  it('when a handle is used, then no CSRF header is needed, while a cookie call without X-CSRF is still 403', async () => {
    expect((await withHandle(broker, '/bff/user', handle, { key })).status).toBe(200)
    const browser = createBrowser()
    await login(browser, broker)
    const noCsrf = await browser.get(apiUrl(), { xhr: true })
    expect(noCsrf.status).toBe(403)
    expect(JSON.parse(noCsrf.body).error).toBe('csrf_failed')
    expect(upstream.requests.length).toBe(seen)
  })
})

describe('the handle on a WebSocket route', () => {
  const wsUrl = () => `${broker.origin}/api/ws/feed`

  it('when the handshake carries the handle and a proof, then the tunnel opens and carries data', async () => {
    const ws = await openWebSocket(wsUrl(), { Authorization: `DPoP ${handle}`, DPoP: await proofFor(key, 'GET', wsUrl(), handle) })
    try {
      expect(ws.status).toBe(101)
      await ws.roundTrip('through-the-tunnel')
      expect(upstream.requests.at(-1)).toMatchObject({ upgrade: true })
      expect(upstream.requests.at(-1)!.headers.authorization).toMatch(/^Bearer /)
      expect(upstream.requests.at(-1)!.headers.authorization).not.toContain(handle)
    } finally {
      ws.destroy()
    }
  })

  it('when the handshake carries the handle without a proof, then it is refused with 401', async () => {
    const ws = await openWebSocket(wsUrl(), { Authorization: `DPoP ${handle}` })
    ws.destroy()
    expect(ws.status).toBe(401)
    const stale = await openWebSocket(wsUrl(), { Authorization: `DPoP ${handle}`, DPoP: await proofFor(key, 'POST', wsUrl(), handle) })
    stale.destroy()
    expect(stale.status).toBe(401)
    expect(upstream.requests.length).toBe(seen)
  })
})
