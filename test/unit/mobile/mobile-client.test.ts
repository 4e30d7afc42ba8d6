import { decodeProtectedHeader } from 'jose'
import { describe, expect, it } from 'vitest'
import { createMobileClient, MobileClientError, pkceChallenge } from '../../../examples/mobile-client.js'
import { createDpopVerifier } from '../../../src/mobile/dpop.js'

const brokerUrl = 'https://app.example.com'
const redirectUri = 'com.example.orders:/cb'
const base = { brokerUrl, clientId: 'com.example.orders', redirectUri }
const handle = 'bffm_issued-handle'

// The broker side of the exchange, answered in process: records what the client sent.
function fakeBroker(tokenType = 'DPoP') {
  const calls: { url: string; method: string; headers: Headers; body: string }[] = []
  const fetch = (async (input: string | URL | Request, init: RequestInit = {}) => {
    calls.push({ url: String(input), method: init.method ?? 'GET', headers: new Headers(init.headers), body: String(init.body ?? '') })
    if (String(input).endsWith('/bff/mobile/token')) {
      return Response.json({ access_token: handle, token_type: tokenType, expires_in: 3600 })
    }
    if (String(input).endsWith('/bff/mobile/logout')) return new Response(null, { status: 204 })
    return Response.json({ ok: true })
  }) as typeof globalThis.fetch
  return { calls, fetch }
}

const verifier = () =>
  createDpopVerifier({ publicUrl: new URL(brokerUrl), clock: Date.now, replay: async () => true })

async function loggedIn(options: { dpop?: boolean } = {}) {
  const broker = fakeBroker(options.dpop === false ? 'Bearer' : 'DPoP')
  const client = createMobileClient({ ...base, ...options, fetch: broker.fetch })
  const { url, state } = await client.authorizeUrl()
  await client.completeLogin(`${redirectUri}?code=c0de&state=${state}&iss=${encodeURIComponent(brokerUrl)}`)
  return { client, broker, challenge: new URL(url).searchParams.get('code_challenge') }
}

describe('reference mobile client (examples/mobile-client.ts)', () => {
  it('when the RFC 7636 Appendix B verifier is hashed, then the S256 challenge is the one the RFC gives', () => {
    expect(pkceChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM')
  })

  it('when an authorize URL is made, then it names the client, redirect, state, S256 challenge and key thumbprint', async () => {
    const client = createMobileClient(base)
    const { url, state } = await client.authorizeUrl()
    const parsed = new URL(url)
    expect(`${parsed.origin}${parsed.pathname}`).toBe('https://app.example.com/bff/mobile/authorize')
    expect(Object.fromEntries(parsed.searchParams)).toEqual({
      client_id: 'com.example.orders', redirect_uri: redirectUri, state, code_challenge: expect.stringMatching(/^[\w-]{43}$/),
      code_challenge_method: 'S256', dpop_jkt: client.key?.jkt,
    })
    expect(state.length).toBeGreaterThanOrEqual(22)
    expect((await client.authorizeUrl()).state).not.toBe(state)
  })

  it('when the app is not DPoP-bound, then the authorize URL carries no dpop_jkt', async () => {
    const { url } = await createMobileClient({ ...base, dpop: false }).authorizeUrl()
    expect(new URL(url).searchParams.has('dpop_jkt')).toBe(false)
  })

  it.each([
    ['another state', (s: string) => `state=x${s}&code=c&iss=${brokerUrl}`, 'state_mismatch'],
    ['another iss (RFC 9207)', (s: string) => `state=${s}&code=c&iss=https://evil.example`, 'iss_mismatch'],
    ['no iss', (s: string) => `state=${s}&code=c`, 'iss_missing'],
    ['an error', (s: string) => `state=${s}&error=access_denied`, 'access_denied'],
    ['no code', (s: string) => `state=${s}&iss=${brokerUrl}`, 'code_missing'],
  ])('when the redirect carries %s, then it is refused', async (_, query, code) => {
    const client = createMobileClient(base)
    const { state } = await client.authorizeUrl()
    expect(() => client.handleRedirect(`${redirectUri}?${query(state)}`)).toThrow(new MobileClientError(code))
  })

  it('when a redirect is handled once, then the same state is refused a second time', async () => {
    const client = createMobileClient(base)
    const { state } = await client.authorizeUrl()
    const redirect = `${redirectUri}?state=${state}&code=c&iss=${brokerUrl}`
    expect(client.handleRedirect(redirect)).toEqual({ code: 'c' })
    expect(() => client.handleRedirect(redirect)).toThrow(new MobileClientError('state_mismatch'))
  })

  it('when the code is redeemed, then the form has the verifier of the challenge and a proof without ath', async () => {
    const { client, broker, challenge } = await loggedIn()
    const [token] = broker.calls
    const form = new URLSearchParams(token?.body)
    expect(Object.fromEntries(form)).toMatchObject({
      grant_type: 'authorization_code', client_id: base.clientId, code: 'c0de', redirect_uri: redirectUri,
    })
    expect(pkceChallenge(form.get('code_verifier') ?? '')).toBe(challenge)
    const proof = token?.headers.get('dpop') ?? undefined
    const input = { proof, method: 'POST', path: '/bff/mobile/token', expectedJkt: client.key?.jkt }
    await expect(verifier().verify(input)).resolves.toEqual({ jkt: client.key?.jkt })
    expect(JSON.parse(Buffer.from(proof?.split('.')[1] ?? '', 'base64url').toString())).not.toHaveProperty('ath')
    expect(client.session).toMatchObject({ accessToken: handle, tokenType: 'DPoP', expiresIn: 3600 })
  })

  it('when an API is called, then it sends the handle as DPoP and a fresh proof the broker verifier accepts', async () => {
    const { client, broker } = await loggedIn()
    await client.fetch('/api/orders/42?page=2', { method: 'patch' })
    await client.fetch('/api/orders/42?page=2', { method: 'patch' })
    const [first, second] = broker.calls.slice(1)
    expect(first?.headers.get('authorization')).toBe(`DPoP ${handle}`)
    expect(first?.method).toBe('patch')
    const proof = first?.headers.get('dpop') ?? undefined
    expect(decodeProtectedHeader(proof ?? '')).toMatchObject({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty: 'EC', crv: 'P-256' } })
    const input = { proof, method: 'patch', path: '/api/orders/42?page=2', accessToken: handle, expectedJkt: client.key?.jkt }
    await expect(verifier().verify(input)).resolves.toBeDefined()
    expect(second?.headers.get('dpop')).not.toBe(proof)
  })

  it('when the app is not DPoP-bound, then the handle goes as Bearer with no proof', async () => {
    const { client, broker } = await loggedIn({ dpop: false })
    await client.fetch('/api/orders')
    expect(broker.calls[0]?.headers.has('dpop')).toBe(false)
    expect(broker.calls[1]?.headers.get('authorization')).toBe(`Bearer ${handle}`)
    expect(broker.calls[1]?.headers.has('dpop')).toBe(false)
  })

  it('when a URL on another origin is fetched, then the handle is not sent anywhere', async () => {
    const { client, broker } = await loggedIn()
    await expect(client.fetch('https://evil.example/api')).rejects.toThrow(new MobileClientError('foreign_origin'))
    await expect(client.fetch('//evil.example/api')).rejects.toThrow(new MobileClientError('foreign_origin'))
    expect(broker.calls).toHaveLength(1)
  })

  it('when the app logs out, then it posts the handle with a proof, expects 204 and forgets the handle', async () => {
    const { client, broker } = await loggedIn()
    await client.logout()
    const call = broker.calls.at(-1)
    expect(call).toMatchObject({ url: 'https://app.example.com/bff/mobile/logout', method: 'POST' })
    expect(call?.headers.get('authorization')).toBe(`DPoP ${handle}`)
    expect(client.session).toBeUndefined()
    await expect(client.fetch('/api/orders')).rejects.toThrow(new MobileClientError('not_logged_in'))
  })
})
