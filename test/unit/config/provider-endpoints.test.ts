import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../../src/config/load.js'
import { problemsOf, validRaw } from './fixtures.js'

const withProvider = (provider: Record<string, unknown>) => {
  const raw = validRaw()
  return { ...raw, provider: { ...(raw.provider as Record<string, unknown>), ...provider } }
}

describe('provider endpoint URLs may carry a query (RFC 6749 §3.1)', () => {
  it('when every endpoint carries a query, then the config loads and keeps it', () => {
    const config = parseConfig(withProvider({
      issuer: undefined,
      authorizationEndpoint: 'https://idp.example.com/auth?realm=acme',
      tokenEndpoint: 'https://idp.example.com/token?realm=acme',
      userinfoEndpoint: 'https://idp.example.com/me?realm=acme',
      revocationEndpoint: 'https://idp.example.com/revoke?realm=acme',
      endSessionEndpoint: 'https://idp.example.com/logout?realm=acme',
    }), {})
    expect(config.provider.tokenEndpoint?.search).toBe('?realm=acme')
    expect(config.provider.endSessionEndpoint?.href).toBe('https://idp.example.com/logout?realm=acme')
  })

  it('when an endpoint carries a fragment, then the config names the key', () => {
    expect(problemsOf(withProvider({ tokenEndpoint: 'https://idp.example.com/token#x' }))).toEqual([
      'provider.tokenEndpoint: must not carry a fragment (RFC 6749 §3.1)',
    ])
  })

  it('when the issuer or an API target carries a query, then it is still refused', () => {
    const raw = { ...withProvider({ issuer: 'https://idp.example.com/?x=1' }), apis: [{ path: '/api/a', target: 'http://a/?b=1' }] }
    expect(problemsOf(raw)).toEqual([
      'provider.issuer: must not carry a query or fragment',
      'apis[0].target: must not carry a query or fragment',
    ])
  })

  it("when an endpoint's query names a parameter the broker sets, then the config refuses it", () => {
    expect(problemsOf(withProvider({
      authorizationEndpoint: 'https://idp.example.com/auth?scope=x',
      endSessionEndpoint: 'https://idp.example.com/logout?client_id=x',
    }))).toEqual([
      'provider.authorizationEndpoint: its query must not carry scope (set by the broker)',
      'provider.endSessionEndpoint: its query must not carry client_id (set by the broker)',
    ])
  })
})

describe('provider.endSessionParams', () => {
  it('when it adds state, then the config keeps it', () => {
    expect(parseConfig(withProvider({ endSessionParams: { state: 'bye' } }), {}).provider.endSessionParams).toEqual({ state: 'bye' })
  })

  it("when it names the broker's own end-session parameters, then each is a config error", () => {
    const endSessionParams = { id_token_hint: 'x', post_logout_redirect_uri: 'https://evil.example', client_id: 'y', ui_locales: 'de' }
    expect(problemsOf(withProvider({ endSessionParams }))).toEqual([
      'provider.endSessionParams.id_token_hint: set by the broker at logout',
      'provider.endSessionParams.post_logout_redirect_uri: set by the broker at logout',
      'provider.endSessionParams.client_id: set by the broker at logout',
    ])
  })
})
