import { describe, expect, it } from 'vitest'
import { basicCredentials, formToJson, normaliseTokenResponse, toTokenSet } from '../../../src/oauth/dialects/wire.js'

describe('normaliseTokenResponse', () => {
  it('when only access_token_expires_in is sent, then it becomes expires_in', () => {
    expect(normaliseTokenResponse({ access_token: 'a', access_token_expires_in: 3600 }).expires_in).toBe(3600)
  })

  it('when both are sent, then expires_in wins', () => {
    expect(normaliseTokenResponse({ expires_in: 60, access_token_expires_in: 3600 }).expires_in).toBe(60)
  })

  it.each([[-1], ['-1'], [''], [null]])('when refresh_token is %j, then there is no refresh token', (rt) => {
    expect('refresh_token' in normaliseTokenResponse({ access_token: 'a', refresh_token: rt })).toBe(false)
  })

  it('when expires_in is a numeric string, then it becomes a number', () => {
    expect(normaliseTokenResponse({ expires_in: '3600' }).expires_in).toBe(3600)
  })

  it('when expires_in is not numeric, then it is left for openid-client to reject', () => {
    expect(normaliseTokenResponse({ expires_in: 'soon' }).expires_in).toBe('soon')
  })
})

describe('basicCredentials', () => {
  it('when id and secret are the RFC 6749 example, then the header is the documented one', () => {
    expect(basicCredentials('s6BhdRkqt3', 'gX1fBat3bV')).toBe('Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW')
  })

  it('when they hold unreserved characters (- _ .), then they are sent unescaped', () => {
    const decoded = Buffer.from(basicCredentials('breakout_app', 'a-b.c').slice(6), 'base64').toString()
    expect(decoded).toBe('breakout_app:a-b.c')
  })

  it('when they hold a colon or a percent sign, then those are form-encoded (RFC 6749 §2.3.1)', () => {
    const decoded = Buffer.from(basicCredentials('id:1', 's%2 x').slice(6), 'base64').toString()
    expect(decoded).toBe('id%3A1:s%252+x')
  })
})

describe('formToJson', () => {
  it('when given a form body, then it gives the same fields as a JSON object', () => {
    const body = new URLSearchParams({ grant_type: 'authorization_code', code: 'c', redirect_uri: 'https://a/cb' })
    expect(JSON.parse(formToJson(body))).toEqual({ grant_type: 'authorization_code', code: 'c', redirect_uri: 'https://a/cb' })
  })
})

describe('toTokenSet', () => {
  const now = 1_700_000_000

  it('when the answer is Samsung Account\'s, then userId lands in extra and no token does', () => {
    const set = toTokenSet(
      { access_token: 'abc', token_type: 'bearer', expires_in: 3600, refresh_token_expires_in: -1, userId: 'y0zpz', access_token_expires_in: 3600 },
      undefined,
      now,
    )
    expect(set).toMatchObject({ accessToken: 'abc', tokenType: 'Bearer', expiresIn: 3600, expiresAt: now + 3600 })
    expect(set.refreshToken).toBeUndefined()
    expect(set.extra).toEqual({ userId: 'y0zpz', refresh_token_expires_in: -1, access_token_expires_in: 3600 })
  })

  it('when there is no expires_in, then there is no expiry', () => {
    const set = toTokenSet({ access_token: 'a', token_type: 'bearer' }, undefined, now)
    expect(set.expiresAt).toBeUndefined()
    expect(set.extra).toBeUndefined()
  })

  it('when an ID token and claims come, then both are kept and the id_token is not in extra', () => {
    const set = toTokenSet({ access_token: 'a', token_type: 'bearer', id_token: 'x.y.z', scope: 'openid' }, { sub: 'u1' }, now)
    expect(set).toMatchObject({ idToken: 'x.y.z', scope: 'openid', idTokenClaims: { sub: 'u1' } })
    expect(set.extra).toBeUndefined()
  })
})
