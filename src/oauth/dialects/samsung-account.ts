import type { Dialect } from './dialect.js'

/**
 * Samsung Account for Knox Cloud Services: `GET /accounts/dfltThirdParty/signInGate` with `response_type=CODE`
 * (upper case, as documented); the token request is a JSON body `{client_id, client_secret, grant_type, code,
 * redirect_uri}`; the answer names the user in `userId` and sends `refresh_token: -1` for "no refresh token".
 * The docs give no token endpoint path (nor a signOutGate path), so the operator must configure it.
 */
export const samsungAccount: Dialect = {
  name: 'samsung-account',
  paths: { authorizationEndpoint: '/accounts/dfltThirdParty/signInGate' },
  settings: {
    clientAuth: 'client_secret_json',
    responseType: 'CODE',
    subjectClaim: 'userId',
    // the documented authorization request carries no scope
    scopes: [],
  },
  undocumented: {
    tokenEndpoint: 'the samsung-account dialect documents no token endpoint path; set it explicitly',
  },
}
