import { describe, expect, it } from 'vitest'
import { translateOAuthError } from '../../../src/oauth/errors.js'

// openid-client 6's ResponseBodyError, duck-typed as the translation reads it
const bodyError = (error: string, status = 400) =>
  Object.assign(new Error('server responded with an error in the response body'), {
    name: 'ResponseBodyError', code: 'OAUTH_RESPONSE_BODY_ERROR', error, status, cause: { error },
  })

describe('translateOAuthError for a token exchange (RFC 8693 §2.2.2)', () => {
  it.each(['invalid_grant', 'invalid_target', 'invalid_scope', 'unauthorized_client'])(
    'when the exchange gets %s, then it is 403 exchange_refused, not session_expired',
    (error) => {
      expect(translateOAuthError(bodyError(error), 'token_exchange')).toMatchObject({ status: 403, code: 'exchange_refused' })
    },
  )

  it('when the exchange gets invalid_client, then it is a 502 (our set-up), not a refusal of the user', () => {
    expect(translateOAuthError(bodyError('invalid_client', 401), 'token_exchange')).toMatchObject({
      status: 502, code: 'idp_unavailable',
    })
  })

  it('when the exchange meets temporarily_unavailable or a 503, then the IdP is unavailable (503)', () => {
    expect(translateOAuthError(bodyError('temporarily_unavailable'), 'token_exchange').status).toBe(503)
    expect(translateOAuthError(bodyError('whatever', 503), 'token_exchange').status).toBe(503)
  })
})
