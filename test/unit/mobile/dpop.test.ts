import { createHmac } from 'node:crypto'
import { exportJWK, generateKeyPair } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import { athFor, generateDpopKey, makeProof, type DpopKey, type ProofOptions } from '../../../examples/mobile-client.js'
import { createDpopReplayCheck } from '../../../src/mobile/dpop-replay.js'
import { createDpopVerifier, DpopError, MAX_PROOF_BYTES, type DpopVerifyInput } from '../../../src/mobile/dpop.js'
import { createMemoryStore } from '../../../src/session/memory-store.js'

const publicUrl = new URL('https://app.example.com')
const htu = 'https://app.example.com/api/orders'
const handle = 'bffm_example-handle'
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

let es256: DpopKey
let other: DpopKey
// a fixed clock: tests that need another time pass iat explicitly
const nowMs = 1_750_000_000_000
const nowSeconds = () => Math.floor(nowMs / 1000)

function verifier(options: { maxAgeSeconds?: number } = {}) {
  const store = createMemoryStore(() => nowMs)
  const replay = createDpopReplayCheck({ store, prefix: 't:' })
  return createDpopVerifier({ publicUrl, clock: () => nowMs, replay, ...options })
}

const proof = (overrides: Partial<ProofOptions> = {}, key = es256) =>
  makeProof(key, { htm: 'GET', htu, iat: nowSeconds(), ath: athFor(handle), ...overrides })

const request = (value: DpopVerifyInput['proof'], extra: Partial<DpopVerifyInput> = {}): DpopVerifyInput => ({
  proof: value, method: 'GET', path: '/api/orders', accessToken: handle, expectedJkt: es256.jkt, ...extra,
})

async function reason(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => undefined, (e: unknown) => e)
  expect(error).toBeInstanceOf(DpopError)
  return (error as DpopError).reason
}

beforeAll(async () => {
  es256 = await generateDpopKey('ES256')
  other = await generateDpopKey('ES256')
})

describe('DPoP proof verification (RFC 9449 §4.3, invariant 16)', () => {
  it.each(['ES256', 'RS256', 'EdDSA'])('when a fresh proof is signed with an %s key, then it is accepted', async (alg) => {
    const key = await generateDpopKey(alg)
    const result = await verifier().verify(request(await proof({}, key), { expectedJkt: key.jkt }))
    expect(result).toEqual({ jkt: key.jkt })
  })

  it('when the request path has a query and the proof htu has none, then it is accepted (query and fragment ignored)', async () => {
    await expect(verifier().verify(request(await proof(), { path: '/api/orders?page=2#x' }))).resolves.toBeDefined()
  })

  it('when htu differs only in scheme or host case or a default port, then it is accepted (RFC 3986 §6.2.2, §6.2.3)', async () => {
    const v = verifier()
    await expect(v.verify(request(await proof({ htu: 'HTTPS://App.Example.COM:443/api/orders' })))).resolves.toBeDefined()
  })

  it('when no proof is sent, then it is refused as missing', async () => {
    expect(await reason(verifier().verify(request(undefined)))).toBe('missing')
    expect(await reason(verifier().verify(request('')))).toBe('missing')
  })

  it('when two proofs are sent (a joined or repeated header), then it is refused', async () => {
    const one = await proof()
    const two = await proof()
    expect(await reason(verifier().verify(request(`${one}, ${two}`)))).toBe('multiple_proofs')
    expect(await reason(verifier().verify(request([one, two])))).toBe('multiple_proofs')
  })

  it('when the proof is larger than the bound, then it is refused before parsing', async () => {
    const huge = `${'a'.repeat(MAX_PROOF_BYTES)}.b.c`
    expect(await reason(verifier().verify(request(huge)))).toBe('too_large')
  })

  it('when the proof is not a compact JWS, then it is refused as malformed', async () => {
    expect(await reason(verifier().verify(request('not-a-jwt')))).toBe('malformed')
    expect(await reason(verifier().verify(request('e30.e30.e30.e30')))).toBe('malformed')
  })

  it('when typ is not dpop+jwt, then it is refused', async () => {
    expect(await reason(verifier().verify(request(await proof({ typ: 'JWT' }))))).toBe('wrong_typ')
  })

  it('when alg is none (unsigned), then it is refused', async () => {
    const unsigned = `${b64({ alg: 'none', typ: 'dpop+jwt', jwk: es256.publicJwk })}.${b64(claims())}.`
    expect(await reason(verifier().verify(request(unsigned)))).toBe('malformed')
    const withSignature = `${unsigned}AAAA`
    expect(await reason(verifier().verify(request(withSignature)))).toBe('unsupported_alg')
  })

  it('when alg is HS256 (a MAC, even with a well-formed signature), then it is refused', async () => {
    const input = `${b64({ alg: 'HS256', typ: 'dpop+jwt', jwk: { kty: 'oct', k: 'c2VjcmV0' } })}.${b64(claims())}`
    const mac = createHmac('sha256', 'secret').update(input).digest('base64url')
    expect(await reason(verifier().verify(request(`${input}.${mac}`)))).toBe('unsupported_alg')
  })

  it('when the header has no jwk, then it is refused', async () => {
    const input = `${b64({ alg: 'ES256', typ: 'dpop+jwt' })}.${b64(claims())}.AAAA`
    expect(await reason(verifier().verify(request(input)))).toBe('missing_jwk')
  })

  it('when the header jwk holds a private key, then it is refused', async () => {
    const pair = await generateKeyPair('ES256', { extractable: true })
    const privateJwk = await exportJWK(pair.privateKey)
    const key: DpopKey = { ...es256, privateKey: pair.privateKey, publicJwk: privateJwk }
    expect(await reason(verifier().verify(request(await proof({}, key), { expectedJkt: undefined })))).toBe('private_jwk')
  })

  it('when the header jwk is a symmetric oct key, then it is refused', async () => {
    const input = `${b64({ alg: 'ES256', typ: 'dpop+jwt', jwk: { kty: 'oct', k: 'c2VjcmV0' } })}.${b64(claims())}.AAAA`
    expect(await reason(verifier().verify(request(input)))).toBe('private_jwk')
  })

  it('when the signature was made by another key than the header jwk, then it is refused', async () => {
    const forged = await proof({ jwk: es256.publicJwk }, other)
    expect(await reason(verifier().verify(request(forged)))).toBe('bad_signature')
  })

  it('when the signature bytes are altered, then it is refused', async () => {
    const good = await proof()
    const [h, p, s = ''] = good.split('.')
    const flipped = `${h}.${p}.${s.startsWith('A') ? 'B' : 'A'}${s.slice(1)}`
    expect(await reason(verifier().verify(request(flipped)))).toBe('bad_signature')
  })

  it('when a header already verified is sent again, then each proof is still checked whole: signature, key, claims', async () => {
    const v = verifier()
    expect(await v.verify(request(await proof()))).toEqual({ jkt: es256.jkt })
    // the same header segment (same key, alg, typ) with another payload and the first proof's signature
    const [h, , s = ''] = (await proof()).split('.')
    const [, p2] = (await proof({ htm: 'POST' })).split('.')
    expect(await reason(v.verify(request(`${h}.${p2}.${s}`, { method: 'POST' })))).toBe('bad_signature')
    // the forged header of another key, then a proof by the other key with the first key's header
    const forged = await proof({ jwk: es256.publicJwk }, other)
    expect(await reason(v.verify(request(forged)))).toBe('bad_signature')
    expect(await reason(v.verify(request(await proof({ htm: 'DELETE' }))))).toBe('wrong_htm')
    expect(await reason(v.verify(request(await proof({}), { expectedJkt: other.jkt })))).toBe('wrong_key')
  })

  it('when a valid proof comes from another key than the bound one, then it is refused', async () => {
    expect(await reason(verifier().verify(request(await proof({}, other))))).toBe('wrong_key')
  })

  it('when htm is not the request method, then it is refused', async () => {
    expect(await reason(verifier().verify(request(await proof({ htm: 'POST' }))))).toBe('wrong_htm')
    expect(await reason(verifier().verify(request(await proof({ htm: 'get' }))))).toBe('wrong_htm')
  })

  it.each([
    ['another path', 'https://app.example.com/api/users'],
    ['another host', 'https://evil.example/api/orders'],
    ['another scheme', 'http://app.example.com/api/orders'],
    ['another port', 'https://app.example.com:8443/api/orders'],
    ['userinfo', 'https://user@app.example.com/api/orders'],
    ['a query on another path', 'https://app.example.com/api/users?x=/api/orders'],
    ['not a URL', '/api/orders'],
  ])('when htu names %s, then it is refused', async (_, value) => {
    expect(await reason(verifier().verify(request(await proof({ htu: value }))))).toBe('wrong_htu')
  })

  it('when the request path does not start with a slash (it could move the host), then no htu matches', async () => {
    const evil = await proof({ htu: 'https://app.example.com@evil.example/x' })
    expect(await reason(verifier().verify(request(evil, { path: '@evil.example/x' })))).toBe('wrong_htu')
  })

  it('when iat is older than the window, then it is refused as stale', async () => {
    expect(await reason(verifier().verify(request(await proof({ iat: nowSeconds() - 61 }))))).toBe('stale_iat')
    const accepted = verifier().verify(request(await proof({ iat: nowSeconds() - 59 })))
    await expect(accepted).resolves.toBeDefined()
  })

  it('when iat lies more than 60 s in the future, then it is refused; within 60 s (a phone clock running fast) it is accepted', async () => {
    expect(await reason(verifier().verify(request(await proof({ iat: nowSeconds() + 61 }))))).toBe('future_iat')
    await expect(verifier().verify(request(await proof({ iat: nowSeconds() + 59 })))).resolves.toBeDefined()
    await expect(verifier().verify(request(await proof({ iat: nowSeconds() + 30 })))).resolves.toBeDefined()
  })

  it('when iat is missing, then it is refused', async () => {
    expect(await reason(verifier().verify(request(await proof({ iat: null }))))).toBe('bad_iat')
  })

  it('when jti is missing or too long, then it is refused', async () => {
    expect(await reason(verifier().verify(request(await proof({ jti: null }))))).toBe('bad_jti')
    expect(await reason(verifier().verify(request(await proof({ jti: 'j'.repeat(257) }))))).toBe('bad_jti')
  })

  it('when the same proof is presented twice, then the second is refused as a replay', async () => {
    const v = verifier()
    const once = await proof()
    await expect(v.verify(request(once))).resolves.toBeDefined()
    expect(await reason(v.verify(request(once)))).toBe('replayed_jti')
  })

  it('when a jti is reused in a new proof by the same key, then it is refused; another key may use it', async () => {
    const v = verifier()
    await v.verify(request(await proof({ jti: 'fixed' })))
    expect(await reason(v.verify(request(await proof({ jti: 'fixed', htm: 'POST' }), { method: 'POST' })))).toBe('replayed_jti')
    await expect(v.verify(request(await proof({ jti: 'fixed' }, other), { expectedJkt: other.jkt }))).resolves.toBeDefined()
  })

  it('when a forged proof is refused, then its jti is not recorded (the replay store is written after the signature)', async () => {
    const v = verifier()
    const good = await proof({ jti: 'victim' })
    await expect(v.verify(request(await proof({ jti: 'victim', jwk: es256.publicJwk }, other)))).rejects.toThrow(DpopError)
    await expect(v.verify(request(good))).resolves.toBeDefined()
  })

  it('when a handle is presented, then ath is required and must be the hash of that handle', async () => {
    expect(await reason(verifier().verify(request(await proof({ ath: undefined }))))).toBe('missing_ath')
    expect(await reason(verifier().verify(request(await proof({ ath: athFor('bffm_other') }))))).toBe('wrong_ath')
  })

  it('when no handle is presented (the token request), then ath is not required', async () => {
    const tokenProof = await proof({ htm: 'POST', htu: 'https://app.example.com/bff/mobile/token', ath: undefined })
    const input = request(tokenProof, { method: 'POST', path: '/bff/mobile/token', accessToken: undefined })
    await expect(verifier().verify(input)).resolves.toEqual({ jkt: es256.jkt })
  })

  it('when the window is 60 s either way, then the jti is kept at least as long as a proof stays acceptable', () => {
    // a proof dated 60 s ahead stays acceptable until 60 s after that date: 120 s from its first use
    expect(verifier().replayTtlMs).toBeGreaterThanOrEqual(120_000)
    expect(verifier({ maxAgeSeconds: 10 }).replayTtlMs).toBeGreaterThanOrEqual(70_000)
  })
})

function claims() {
  return { htm: 'GET', htu, iat: nowSeconds(), jti: 'j1', ath: athFor(handle) }
}
