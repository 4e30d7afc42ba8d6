import { describe, expect, it } from 'vitest'
import { resolveDialect } from '../../../src/oauth/dialects/index.js'

const base = new URL('https://idp.example.com')

describe('resolveDialect', () => {
  it('when the dialect is sami, then it sets /authorize, /token, Basic auth and comma scopes', () => {
    const { preset, problems } = resolveDialect('sami', { baseUrl: new URL('https://accounts.samsungsami.io'), explicit: {} })
    expect(problems).toEqual([])
    expect(preset.authorizationEndpoint?.href).toBe('https://accounts.samsungsami.io/authorize')
    expect(preset.tokenEndpoint?.href).toBe('https://accounts.samsungsami.io/token')
    expect(preset).toMatchObject({ clientAuth: 'client_secret_basic', scopeSeparator: ',', scopes: ['read', 'write'] })
  })

  it('when the dialect is samsung-account, then it sets signInGate, CODE, JSON auth and userId, and asks for the token endpoint', () => {
    const { preset, problems } = resolveDialect('samsung-account', { baseUrl: base, explicit: {} })
    expect(preset.authorizationEndpoint?.href).toBe('https://idp.example.com/accounts/dfltThirdParty/signInGate')
    expect(preset).toMatchObject({ responseType: 'CODE', clientAuth: 'client_secret_json', subjectClaim: 'userId' })
    expect(preset.tokenEndpoint).toBeUndefined()
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatch(/^provider\.tokenEndpoint: /)
  })

  it('when samsung-account has an explicit token endpoint, then there is no problem', () => {
    const explicit = { tokenEndpoint: new URL('https://api.example.com/auth/oauth2/token') }
    expect(resolveDialect('samsung-account', { baseUrl: base, explicit }).problems).toEqual([])
  })

  it('when the dialect is light-oauth2, then it sets /oauth2/code and /oauth2/token', () => {
    const { preset, problems } = resolveDialect('light-oauth2', { baseUrl: new URL('http://localhost:8888'), explicit: {} })
    expect(problems).toEqual([])
    expect(preset.authorizationEndpoint?.href).toBe('http://localhost:8888/oauth2/code')
    expect(preset.tokenEndpoint?.href).toBe('http://localhost:8888/oauth2/token')
    expect(preset.clientAuth).toBe('client_secret_basic')
  })

  it('when the dialect is identity-hub with a tenant, then the tenant paths keep their trailing slash', () => {
    const { preset, problems } = resolveDialect('identity-hub', { baseUrl: base, tenant: 'acme', explicit: {} })
    expect(problems).toEqual([])
    expect(preset.authorizationEndpoint?.href).toBe('https://idp.example.com/acme/oauth2/v1/auth/')
    expect(preset.tokenEndpoint?.href).toBe('https://idp.example.com/acme/oauth2/v1/token/')
    expect(preset).toMatchObject({ clientAuth: 'client_secret_post', pkce: true })
  })

  it('when identity-hub has no tenant, then a problem names provider.tenant', () => {
    const { preset, problems } = resolveDialect('identity-hub', { baseUrl: base, explicit: {} })
    expect(problems.some((p) => p.startsWith('provider.tenant:'))).toBe(true)
    expect(preset.tokenEndpoint).toBeUndefined()
  })

  it('when the tenant is not one path segment, then a problem names provider.tenant', () => {
    const { problems } = resolveDialect('identity-hub', { baseUrl: base, tenant: '../admin', explicit: {} })
    expect(problems.some((p) => p.startsWith('provider.tenant:'))).toBe(true)
  })

  it('when the dialect is breakout with the password grant, then it sets /oauth/token, /me/ and read write', () => {
    const { preset, problems } = resolveDialect('breakout', { baseUrl: base, explicit: { passwordGrant: true } })
    expect(problems).toEqual([])
    expect(preset.tokenEndpoint?.href).toBe('https://idp.example.com/oauth/token')
    expect(preset.userinfoEndpoint?.href).toBe('https://idp.example.com/me/')
    expect(preset).toMatchObject({ scopes: ['read', 'write'], scopeSeparator: ' ', subjectClaim: 'id' })
  })

  it('when breakout has neither an authorization endpoint nor the password grant, then a problem says so', () => {
    const { problems } = resolveDialect('breakout', { baseUrl: base, explicit: {} })
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatch(/^provider\.authorizationEndpoint: /)
  })

  it('when baseUrl has a path, then the documented paths are appended to it', () => {
    const { preset } = resolveDialect('light-oauth2', { baseUrl: new URL('https://h.example/idp/'), explicit: {} })
    expect(preset.tokenEndpoint?.href).toBe('https://h.example/idp/oauth2/token')
  })

  it('when baseUrl is missing, then a problem names provider.baseUrl', () => {
    const { problems } = resolveDialect('sami', { explicit: {} })
    expect(problems[0]).toMatch(/^provider\.baseUrl: /)
  })

  it('when every endpoint is explicit, then baseUrl is not needed', () => {
    const explicit = { authorizationEndpoint: new URL('https://a/x'), tokenEndpoint: new URL('https://a/y') }
    expect(resolveDialect('sami', { explicit }).problems).toEqual([])
  })
})
