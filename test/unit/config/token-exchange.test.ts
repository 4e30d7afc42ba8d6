import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../../src/config/load.js'
import { problemsOf, validRaw } from './fixtures.js'

const withApi = (api: Record<string, unknown>) => ({ ...validRaw(), apis: [{ path: '/api/orders', target: 'http://orders', ...api }] })

describe('apis[].tokenExchange config', () => {
  it('when a user route sets an audience and scopes, then it parses as given', () => {
    const config = parseConfig(withApi({ tokenExchange: { audience: 'urn:example:orders', scope: ['orders:read'] } }), {})
    expect(config.apis[0]?.tokenExchange).toEqual({ audience: 'urn:example:orders', scope: ['orders:read'] })
  })

  it('when tokenExchange names neither audience nor scope, then the error names the key', () => {
    expect(problemsOf(withApi({ tokenExchange: {} }))).toEqual(['apis[0].tokenExchange: set audience, scope or both'])
  })

  it.each(['client', 'none'])('when the route has token %s, then tokenExchange is refused (there is no user token)', (token) => {
    expect(problemsOf(withApi({ token, tokenExchange: { audience: 'orders' } }))).toEqual([
      `apis[0].tokenExchange: allowed only with token user or user-or-client (token is ${token})`,
    ])
  })

  it('when a user-or-client route sets tokenExchange, then it is accepted', () => {
    expect(parseConfig(withApi({ token: 'user-or-client', tokenExchange: { scope: ['a'] } }), {}).apis[0]?.token).toBe('user-or-client')
  })

  it('when the route also sets scopes or resource, then tokenExchange is refused naming both', () => {
    const raw = withApi({ scopes: ['a'], resource: 'https://orders.example', tokenExchange: { audience: 'orders' } })
    expect(problemsOf(raw)).toEqual([
      'apis[0].tokenExchange: not with scopes or resource (the exchange names the token\'s audience and scope)',
    ])
  })

  it('when the audience holds a space, a scope is not a scope token or a key is unknown, then each is named', () => {
    const raw = withApi({ tokenExchange: { audience: 'two words', scope: ['a b'], resource: 'x' } })
    expect(problemsOf(raw)).toEqual([
      'apis[0].tokenExchange.audience: must be printable ASCII without spaces',
      'apis[0].tokenExchange.scope[0]: must be a scope token (no spaces)',
      expect.stringMatching(/^apis\[0\]\.tokenExchange\.resource: unknown key/),
    ])
  })
})
