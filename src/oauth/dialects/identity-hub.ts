import type { Dialect } from './dialect.js'

/**
 * The Identity Hub, "Perform an OAuth Authorization Code Grant": per-tenant paths
 * `GET /{tenant}/oauth2/v1/auth/` and `POST /{tenant}/oauth2/v1/token/` (trailing slashes as in the examples),
 * PKCE supported, refresh tokens issued and exchanged at the same endpoint. The code is posted "in the body,
 * together with the App's credentials", hence client_secret_post (RFC 6749 §2.3.1's body form).
 */
export const identityHub: Dialect = {
  name: 'identity-hub',
  tenant: true,
  paths: {
    authorizationEndpoint: '/{tenant}/oauth2/v1/auth/',
    tokenEndpoint: '/{tenant}/oauth2/v1/token/',
  },
  settings: {
    clientAuth: 'client_secret_post',
    responseType: 'code',
    pkce: true,
  },
}
