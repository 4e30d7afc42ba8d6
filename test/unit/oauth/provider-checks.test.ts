import { describe, expect, it } from 'vitest'
import { issuedAtProblem } from '../../../src/oauth/id-token-checks.js'
import { clockSkewSeconds, metadataProblem } from '../../../src/oauth/metadata-checks.js'
import { classifyOAuthError } from '../../../src/oauth/errors.js'

const now = 1_800_000_000

describe('issuedAtProblem (OIDC Core §3.1.3.7 step 10)', () => {
  it.each([
    ['issued just now', now, undefined],
    ['issued at the limit', now - 300, undefined],
    ['issued within the clock tolerance ahead', now + 30, undefined],
  ])('when the ID token was %s, then it passes', (_, iat, problem) => {
    expect(issuedAtProblem({ iat }, now, 300)).toBe(problem)
  })

  it.each([
    ['issued one second past the limit', { iat: now - 301 }, /issued 301 s ago/],
    ['issued beyond the tolerance ahead', { iat: now + 31 }, /in the future/],
    ['without iat', {}, /no numeric iat/],
    ['with a string iat', { iat: String(now) }, /no numeric iat/],
  ])('when the ID token was %s, then the problem is named', (_, claims, problem) => {
    expect(issuedAtProblem(claims, now, 300)).toMatch(problem)
  })
})

describe('metadataProblem (RFC 9700 §2.1.1)', () => {
  it('when the methods lack S256, then the problem names them', () => {
    expect(metadataProblem({ code_challenge_methods_supported: ['plain'] }, { pkce: true })).toMatch(/\["plain"\], without S256/)
  })

  it.each([
    ['S256 is listed', { code_challenge_methods_supported: ['plain', 'S256'] }, true],
    ['no methods are listed', {}, true],
    ['PKCE is off for this provider shape', { code_challenge_methods_supported: ['plain'] }, false],
  ])('when %s, then there is no problem', (_, metadata, pkce) => {
    expect(metadataProblem(metadata, { pkce })).toBeUndefined()
  })
})

describe('clockSkewSeconds', () => {
  it('when the Date header is ahead of our clock, then the skew is positive, in seconds', () => {
    expect(clockSkewSeconds(new Date(now * 1000 + 90_000).toUTCString(), now * 1000)).toBe(90)
  })

  it('when there is no Date header or it does not parse, then there is no skew', () => {
    expect(clockSkewSeconds(null, now * 1000)).toBeUndefined()
    expect(clockSkewSeconds('yesterday-ish', now * 1000)).toBeUndefined()
  })
})

describe('classifyOAuthError detail', () => {
  it('when openid-client wraps a failed check, then the detail keeps the inner message', () => {
    const err = Object.assign(new Error('invalid response encountered'), {
      name: 'ClientError', code: 'OAUTH_INVALID_RESPONSE', cause: new Error('JWT signature verification failed'),
    })
    expect(classifyOAuthError(err).detail).toContain('(JWT signature verification failed)')
  })
})
