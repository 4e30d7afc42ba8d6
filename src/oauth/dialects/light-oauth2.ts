import type { Dialect } from './dialect.js'

/**
 * networknt light-oauth2 ("OAuth2 Introduction"): `GET /oauth2/code`, `POST /oauth2/token` with the client in a
 * Basic header and a form body, for the code and client credentials grants. The scopes come from the client's
 * registration (the documented requests send none), and no ID token is issued.
 */
export const lightOauth2: Dialect = {
  name: 'light-oauth2',
  paths: { authorizationEndpoint: '/oauth2/code', tokenEndpoint: '/oauth2/token' },
  settings: {
    clientAuth: 'client_secret_basic',
    responseType: 'code',
    scopes: [],
  },
}
