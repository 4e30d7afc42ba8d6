import { describe, expect, it } from 'vitest'
import { configWarnings } from '../../../src/config/check.js'
import { parseConfig } from '../../../src/config/load.js'
import { problemsOf, validRaw } from './fixtures.js'

const prod = { NODE_ENV: 'production' }
const withProvider = (provider: Record<string, unknown>) => {
  const raw = validRaw()
  return { ...raw, provider: { ...(raw.provider as Record<string, unknown>), ...provider } }
}
const refused = (key: string) =>
  `provider.${key}: must be https in production (http only on localhost, 127.0.0.1 or [::1]; provider.allowInsecureHttp: true if the network is trusted)`

describe('parseConfig http provider URLs in production', () => {
  it('when the issuer is http outside loopback in production, then it is a config error naming provider.issuer', () => {
    expect(problemsOf(withProvider({ issuer: 'http://idp.internal' }), prod)).toEqual([refused('issuer')])
  })

  it('when explicit endpoints or a dialect base URL are http outside loopback, then each is refused by its key', () => {
    const raw = withProvider({
      issuer: undefined,
      authorizationEndpoint: 'https://idp.example.com/authorize',
      tokenEndpoint: 'http://idp.internal/token',
      revocationEndpoint: 'http://10.0.0.5/revoke',
    })
    expect(problemsOf(raw, prod)).toEqual([refused('tokenEndpoint'), refused('revocationEndpoint')])
    const dialect = withProvider({ issuer: undefined, dialect: 'light-oauth2', baseUrl: 'http://oauth.internal:6882' })
    expect(problemsOf(dialect, prod)).toEqual([refused('baseUrl')])
  })

  it('when the issuer is http on loopback in production, then it is accepted', () => {
    expect(parseConfig(withProvider({ issuer: 'http://127.0.0.1:9000' }), prod).provider.issuer?.href).toBe('http://127.0.0.1:9000/')
  })

  it('when provider.allowInsecureHttp is true, then an http issuer is accepted in production with a warning', () => {
    const config = parseConfig(withProvider({ issuer: 'http://idp.internal', allowInsecureHttp: true }), prod)
    expect(config.provider.allowInsecureHttp).toBe(true)
    expect(configWarnings(config)).toContain('provider.allowInsecureHttp is on: the client secret and tokens cross plain http to the provider')
  })

  it('when an http issuer is used outside production, then it is accepted without the opt-in', () => {
    expect(parseConfig(withProvider({ issuer: 'http://idp.internal' }), {}).provider.allowInsecureHttp).toBe(false)
  })
})
