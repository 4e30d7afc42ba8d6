import type { Dialect } from './dialect.js'

/**
 * Breakout (a Spring Security OAuth server): `POST /oauth/token` with the client in a Basic header and a form
 * body, the password grant with `scope=read write`, the refresh grant at the same path, and the user's identity
 * from `GET /me/` with the Bearer token (no ID token). Only the password grant is documented: code flow logins
 * need `provider.authorizationEndpoint` set explicitly.
 */
export const breakout: Dialect = {
  name: 'breakout',
  paths: { tokenEndpoint: '/oauth/token', userinfoEndpoint: '/me/' },
  settings: {
    clientAuth: 'client_secret_basic',
    scopeSeparator: ' ',
    scopes: ['read', 'write'],
    responseType: 'code',
    subjectClaim: 'id',
  },
}
