import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { calculateCodeChallenge, loginChecks } from './pkce.js'
import { dialectConfig, makeProvider, redirectUri } from './fixtures.js'
import { startWireServer, type TokenFault, type WireServer } from '../../support/wire/index.js'

let wire: WireServer
beforeAll(async () => {
  wire = await startWireServer('sami')
})
afterAll(() => wire.stop())

const sami = () => makeProvider(dialectConfig('sami', wire.url, { clientId: 'wire-client', clientSecret: 'wire-secret' }))

async function callbackWith(fault: TokenFault) {
  const { provider, lines } = sami()
  const checks = loginChecks()
  const url = await provider.authorizationUrl({ state: checks.state, codeChallenge: await calculateCodeChallenge(checks.codeVerifier), redirectUri })
  const callback = await wire.authorize(url)
  wire.failNext(fault)
  return { result: provider.exchangeCode(callback, checks, redirectUri), lines, code: callback.searchParams.get('code') as string }
}

describe('malformed and failing token answers', () => {
  it.each([
    ['no_access_token', 400, 'login_failed'],
    ['not_json', 400, 'login_failed'],
    ['html_error_page', 400, 'login_failed'],
    ['unknown_token_type', 400, 'login_failed'],
    ['invalid_grant', 400, 'login_failed'],
    ['status_500', 503, 'idp_unavailable'],
  ] as const)('when the code exchange gets %s, then %i %s, one log line, and no code in it', async (fault, status, code) => {
    const { result, lines, code: authCode } = await callbackWith(fault)
    await expect(result).rejects.toMatchObject({ status, code })
    const events = lines.filter((l) => l.includes('provider.response_invalid'))
    expect(events).toHaveLength(1)
    expect(events[0]).toContain('"provider":"sami"')
    expect(lines.join('\n')).not.toContain(authCode)
  })

  it.each(['expires_in_string', 'bearer_capitalised'] as const)('when the code exchange gets %s, then it is accepted', async (fault) => {
    const { result } = await callbackWith(fault)
    await expect(result).resolves.toMatchObject({ tokenType: 'Bearer', expiresIn: 3600 })
  })

  it.each([
    ['invalid_grant', 401, 'session_expired'],
    ['no_access_token', 502, 'idp_unavailable'],
    ['not_json', 502, 'idp_unavailable'],
    ['html_error_page', 502, 'idp_unavailable'],
    ['unknown_token_type', 502, 'idp_unavailable'],
    ['status_500', 503, 'idp_unavailable'],
  ] as const)('when a refresh gets %s, then %i %s', async (fault, status, code) => {
    const { provider, lines } = sami()
    wire.failNext(fault)
    await expect(provider.refresh('rt-SECRET-value')).rejects.toMatchObject({ status, code })
    expect(lines.join('\n')).not.toContain('rt-SECRET-value')
  })

  it.each([
    ['status_500', 503],
    ['no_access_token', 502],
  ] as const)('when client credentials get %s, then %i', async (fault, status) => {
    const { provider } = sami()
    wire.failNext(fault)
    await expect(provider.clientCredentials({ scope: ['read', 'write'] })).rejects.toMatchObject({ status, code: 'idp_unavailable' })
  })

  it('when the network fails, then the IdP is unavailable (503)', async () => {
    const failing: typeof fetch = async () => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) })
    }
    const { provider } = makeProvider(dialectConfig('sami', wire.url, {}), { fetch: failing })
    await expect(provider.refresh('rt')).rejects.toMatchObject({ status: 503, code: 'idp_unavailable' })
  })

  it('when the provider does not answer within timeoutMs, then the IdP is unavailable (503)', async () => {
    const hanging: typeof fetch = (_url, init) =>
      new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)))
    const { provider } = makeProvider(dialectConfig('sami', wire.url, { timeoutMs: 1000 }), { fetch: hanging })
    const started = Date.now()
    await expect(provider.clientCredentials()).rejects.toMatchObject({ status: 503, code: 'idp_unavailable' })
    expect(Date.now() - started).toBeLessThan(5000)
  })

  it('when the client sends its secret the wrong way, then the wire server refuses it and says why', async () => {
    const { provider } = makeProvider(dialectConfig('sami', wire.url, { clientId: 'wire-client', clientSecret: 'wire-secret', clientAuth: 'client_secret_post' }))
    const before = wire.problems.length
    await expect(provider.clientCredentials({ scope: ['read', 'write'] })).rejects.toMatchObject({ status: 502 })
    expect(wire.problems.slice(before).join()).toMatch(/Authorization must be Basic/)
    wire.problems.length = before
  })
})

describe('callback checks (openid-client does them; the adapter never skips one)', () => {
  async function started(nonce?: string) {
    const { provider } = sami()
    const checks = loginChecks(nonce)
    const url = await provider.authorizationUrl({ state: checks.state, codeChallenge: await calculateCodeChallenge(checks.codeVerifier), nonce, redirectUri })
    return { provider, checks, callback: await wire.authorize(url) }
  }

  it('when the callback carries error=access_denied, then the login failed and no token request is sent', async () => {
    const { provider, checks } = await started()
    const before = wire.requests.length
    const callback = new URL(`${redirectUri}?error=access_denied&state=${checks.state}`)
    await expect(provider.exchangeCode(callback, checks, redirectUri)).rejects.toMatchObject({ status: 400, code: 'login_failed' })
    expect(wire.requests.length).toBe(before)
  })

  it('when the state does not match, then the login failed', async () => {
    const { provider, checks, callback } = await started()
    await expect(provider.exchangeCode(callback, { ...checks, state: 'other' }, redirectUri)).rejects.toMatchObject({ code: 'login_failed' })
  })

  it('when a nonce was sent but no ID token comes back, then the login failed', async () => {
    const { provider, checks, callback } = await started('n-1')
    await expect(provider.exchangeCode(callback, checks, redirectUri)).rejects.toMatchObject({ code: 'login_failed' })
  })

  it('when the code verifier is not the challenged one, then the wire server refuses and the login failed', async () => {
    const { provider, checks, callback } = await started()
    const before = wire.problems.length
    await expect(provider.exchangeCode(callback, { ...checks, codeVerifier: 'x'.repeat(43) }, redirectUri)).rejects.toMatchObject({ code: 'login_failed' })
    expect(wire.problems.slice(before).join()).toMatch(/code_verifier/)
    wire.problems.length = before
  })
})
