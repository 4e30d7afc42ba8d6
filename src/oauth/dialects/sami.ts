import type { Dialect } from './dialect.js'

/**
 * SAMI (accounts.samsungsami.io), "OAuth2 flow examples": `GET /authorize?...&scope=read,write`, `POST /token`
 * with the client in a Basic header (RFC 6749 §2.3.1) for the code, refresh and client credentials grants.
 * Scopes are comma-separated, unlike RFC 6749 §3.3's space.
 */
export const sami: Dialect = {
  name: 'sami',
  paths: { authorizationEndpoint: '/authorize', tokenEndpoint: '/token' },
  settings: {
    clientAuth: 'client_secret_basic',
    scopeSeparator: ',',
    scopes: ['read', 'write'],
    responseType: 'code',
  },
}
