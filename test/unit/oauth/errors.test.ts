import { describe, expect, it } from 'vitest'
import { BffError } from '../../../src/errors.js'
import { classifyOAuthError, translateOAuthError } from '../../../src/oauth/errors.js'

// shapes of openid-client 6 / oauth4webapi errors (duck-typed: only the adapter imports openid-client)
const bodyError = (error: string, status = 400) =>
  Object.assign(new Error('server responded with an error in the response body'), {
    name: 'ResponseBodyError', code: 'OAUTH_RESPONSE_BODY_ERROR', error, status, cause: { error },
  })
const clientError = (code: string, cause?: unknown) =>
  Object.assign(new Error('x'), { name: 'ClientError', code, cause })
const fetchFailed = () => new TypeError('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) })

describe('translateOAuthError', () => {
  it('when refresh gets invalid_grant, then the session is expired (RFC 6749 §5.2)', () => {
    const e = translateOAuthError(bodyError('invalid_grant'), 'refresh')
    expect(e).toMatchObject({ status: 401, code: 'session_expired' })
  })

  it('when the callback gets invalid_grant, then the login failed', () => {
    expect(translateOAuthError(bodyError('invalid_grant'), 'callback')).toMatchObject({ status: 400, code: 'login_failed' })
  })

  it('when the password grant gets invalid_grant, then 401 login_failed with one message for any wrong credentials', () => {
    expect(translateOAuthError(bodyError('invalid_grant'), 'password')).toMatchObject({
      status: 401, code: 'login_failed', message: 'Wrong username or password.',
    })
  })

  it('when the callback holds error=access_denied, then the login failed', () => {
    const err = Object.assign(new Error('authorization response from the server is an error'), {
      name: 'AuthorizationResponseError', code: 'OAUTH_AUTHORIZATION_RESPONSE_ERROR', error: 'access_denied',
    })
    expect(translateOAuthError(err, 'callback').code).toBe('login_failed')
  })

  it('when state or the ID token check fails, then the login failed', () => {
    expect(translateOAuthError(clientError('OAUTH_JWT_CLAIM_COMPARISON_FAILED'), 'callback').code).toBe('login_failed')
    expect(translateOAuthError(clientError('OAUTH_INVALID_RESPONSE'), 'callback').code).toBe('login_failed')
  })

  it.each([
    ['a timeout', clientError('OAUTH_TIMEOUT')],
    ['a network failure', fetchFailed()],
    ['a 500', clientError('OAUTH_RESPONSE_IS_NOT_CONFORM', { status: 500 })],
    ['a 503 HTML page', clientError('OAUTH_RESPONSE_IS_NOT_JSON', { status: 503 })],
    ['temporarily_unavailable', bodyError('temporarily_unavailable')],
  ])('when refresh meets %s, then the IdP is unavailable (503) and the session is kept', (_, err) => {
    expect(translateOAuthError(err, 'refresh')).toMatchObject({ status: 503, code: 'idp_unavailable' })
  })

  it.each([
    ['no access_token', clientError('OAUTH_INVALID_RESPONSE')],
    ['a body that is not JSON', clientError('OAUTH_PARSE_ERROR')],
    ['an unknown token_type', clientError('OAUTH_UNSUPPORTED_OPERATION')],
    ['invalid_client', bodyError('invalid_client', 401)],
  ])('when refresh meets %s, then the answer is a 502 idp_unavailable, not a logout', (_, err) => {
    expect(translateOAuthError(err, 'refresh')).toMatchObject({ status: 502, code: 'idp_unavailable' })
  })

  it('when the callback meets a malformed answer, then the login failed', () => {
    expect(translateOAuthError(clientError('OAUTH_PARSE_ERROR'), 'callback').code).toBe('login_failed')
  })

  it('when discovery fails in any way, then the IdP is unavailable', () => {
    expect(translateOAuthError(clientError('OAUTH_INVALID_RESPONSE'), 'metadata').status).toBe(503)
  })

  it('when an http endpoint is refused, then it is our configuration: server_error', () => {
    expect(translateOAuthError(clientError('OAUTH_HTTP_REQUEST_FORBIDDEN'), 'refresh').code).toBe('server_error')
  })

  it('when the error holds a body with tokens, then neither detail nor cause carries it', () => {
    const err = clientError('OAUTH_INVALID_RESPONSE', { body: { access_token: 'SECRET-AT', refresh_token: 'SECRET-RT' } })
    const e = translateOAuthError(err, 'callback')
    expect(JSON.stringify({ d: e.detail, m: e.message, c: (e.cause as Error).message })).not.toContain('SECRET')
    expect((e.cause as { cause?: unknown }).cause).toBeUndefined()
  })

  it('when given a BffError, then it is passed through', () => {
    const original = new BffError(404, 'not_found')
    expect(translateOAuthError(original, 'password')).toBe(original)
  })

  it('when a logger is given, then one line names the provider without secrets', () => {
    const lines: unknown[] = []
    const logger = { warn: (o: unknown) => lines.push(o), info: (o: unknown) => lines.push(o) }
    translateOAuthError(bodyError('invalid_grant'), 'refresh', { logger: logger as never, provider: 'sami' })
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({ event: 'provider.response_invalid', provider: 'sami', context: 'refresh', problem: 'invalid_grant' })
  })
})

describe('classifyOAuthError', () => {
  it('when a 429 comes back, then it is transient', () => {
    expect(classifyOAuthError(clientError('OAUTH_RESPONSE_IS_NOT_CONFORM', { status: 429 })).kind).toBe('transient')
  })

  it('when a 404 HTML page comes back, then it is malformed', () => {
    expect(classifyOAuthError(clientError('OAUTH_RESPONSE_IS_NOT_JSON', { status: 404 })).kind).toBe('malformed')
  })
})
