import { describe, expect, it } from 'vitest'
import { translateOAuthError } from '../../../src/oauth/errors.js'

// shapes of openid-client 6 / oauth4webapi errors (duck-typed, as in errors.test.ts)
const bodyError = (error: string, status = 400) =>
  Object.assign(new Error('server responded with an error in the response body'), {
    name: 'ResponseBodyError', code: 'OAUTH_RESPONSE_BODY_ERROR', error, status, cause: { error },
  })
const challenge = () =>
  Object.assign(new Error('server responded with a challenge in the WWW-Authenticate HTTP Header'), {
    name: 'WWWAuthenticateChallengeError', code: 'OAUTH_WWW_AUTHENTICATE_CHALLENGE', status: 401,
  })
const notConform = (status: number) =>
  Object.assign(new Error('"response" is not a conform Token Endpoint response'), { name: 'ClientError', code: 'OAUTH_RESPONSE_IS_NOT_CONFORM', cause: { status } })

function capture() {
  const lines: Array<{ level: string; fields: Record<string, unknown>; message: string }> = []
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => void lines.push({ level, fields, message })
  return { lines, logger: { info: at('info'), warn: at('warn'), error: at('error') } as never }
}

describe('a refresh refused with a 4xx (RFC 6749 §5.2)', () => {
  it.each([
    ['invalid_request (LemonLDAP::NG: expired refresh token)', bodyError('invalid_request')],
    ['access_denied', bodyError('access_denied', 403)],
    ['an unknown OAuth error code', bodyError('expired_token')],
  ])('when the provider answers %s, then the grant is over: 401 session_expired', (_, err) => {
    expect(translateOAuthError(err, 'refresh')).toMatchObject({ status: 401, code: 'session_expired' })
  })

  it('when the provider answers 429 with an OAuth error, then it is transient: 503 and the session is kept', () => {
    expect(translateOAuthError(bodyError('slow_down', 429), 'refresh')).toMatchObject({ status: 503, code: 'idp_unavailable' })
  })

  it.each([
    ['invalid_client', bodyError('invalid_client', 401)],
    ['unauthorized_client', bodyError('unauthorized_client')],
    ['unsupported_grant_type', bodyError('unsupported_grant_type')],
    ['invalid_scope (an apis[] route asks for more)', bodyError('invalid_scope')],
    ['a 401 challenge (Basic client authentication failed)', challenge()],
  ])("when the provider answers %s, then it is the broker's fault: 502 idp_unavailable, logged at error, no logout", (_, err) => {
    const { lines, logger } = capture()
    expect(translateOAuthError(err, 'refresh', { logger, provider: 'idp' })).toMatchObject({ status: 502, code: 'idp_unavailable' })
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({ level: 'error', fields: { event: 'provider.response_invalid', context: 'refresh' } })
    expect(lines[0]!.message).toContain("refused the broker's client")
  })

  it('when a 4xx carries no OAuth error body (an HTML 404 of a wrong URL), then 502, the grant is kept', () => {
    expect(translateOAuthError(notConform(404), 'refresh')).toMatchObject({ status: 502, code: 'idp_unavailable' })
  })
})

describe('userinfo at login for profile claims only (OIDC Core §5.4)', () => {
  it('when the userinfo sub differs from the ID token, then login_failed', () => {
    const mismatch = Object.assign(new Error('unexpected "sub" claim value'), { name: 'OperationProcessingError', code: 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED' })
    expect(translateOAuthError(mismatch, 'profile')).toMatchObject({ status: 400, code: 'login_failed' })
  })

  it('when userinfo refuses the access token, then a 5xx the login may ride out', () => {
    expect(translateOAuthError(challenge(), 'profile').status).toBeGreaterThanOrEqual(500)
    expect(translateOAuthError(challenge(), 'userinfo')).toMatchObject({ status: 400, code: 'login_failed' })
  })
})
