import { BffError, exchangeRefused, idpUnavailable, invalidRequest, loginFailed, serverError, sessionExpired } from '../errors.js'
import type { Logger } from '../observability/logger.js'
import { LogEvents } from '../observability/log-events.js'

/** Where the failed call came from: the same library error means different things to the user in each. */
export type OAuthContext =
  | 'callback' | 'refresh' | 'client_credentials' | 'password' | 'revoke' | 'metadata' | 'userinfo' | 'token_exchange'
  // userinfo called at login for profile claims only: the ID token already named the user
  | 'profile'

/**
 * What went wrong, independent of the call:
 * - `invalid_grant`: the grant is dead (RFC 6749 §5.2): the user must log in again;
 * - `rejected`: the provider refused with another OAuth error (invalid_client, invalid_scope, a 401 challenge …);
 * - `denied`: the authorization response itself was an error (`error=access_denied` on the callback);
 * - `check_failed`: state, iss, nonce or ID token validation failed (OIDC Core §3.1.3.7);
 * - `transient`: timeout, abort, network failure, 5xx or 429: try again later, keep the session;
 * - `malformed`: an answer that is not a token response (no access_token, not JSON, HTML, unknown token_type);
 * - `config`: our own set-up is wrong (http endpoint without allowInsecureHttp, missing endpoint).
 */
export type ProblemKind = 'invalid_grant' | 'rejected' | 'denied' | 'check_failed' | 'transient' | 'malformed' | 'config'

export interface Problem {
  kind: ProblemKind
  /** safe for logs: library message, OAuth error code, HTTP status; never a body, a parameter or a token */
  detail: string
  /** the OAuth `error` code of an error response (RFC 6749 §5.2), when there was one */
  oauthError?: string
}

type Loose = { name?: unknown; code?: unknown; message?: unknown; cause?: unknown; error?: unknown; status?: unknown }

const networkCodes = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED',
  'OAUTH_TIMEOUT', 'OAUTH_ABORT',
])
const checkCodes = new Set([
  'OAUTH_JWT_CLAIM_COMPARISON_FAILED', 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED', 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED',
  'OAUTH_KEY_SELECTION_FAILED',
])
const malformedCodes = new Set([
  'OAUTH_PARSE_ERROR', 'OAUTH_INVALID_RESPONSE', 'OAUTH_UNSUPPORTED_OPERATION', 'OAUTH_RESPONSE_IS_NOT_JSON',
  'OAUTH_RESPONSE_IS_NOT_CONFORM', 'OAUTH_JWT_USERINFO_EXPECTED',
])
const configCodes = new Set([
  'OAUTH_HTTP_REQUEST_FORBIDDEN', 'OAUTH_REQUEST_PROTOCOL_FORBIDDEN', 'OAUTH_MISSING_SERVER_METADATA',
  'OAUTH_INVALID_SERVER_METADATA', 'ERR_INVALID_ARG_TYPE',
])
// RFC 6749 §4.1.2.1: the two authorization/token error codes that say "not now" rather than "no"
const transientOAuthErrors = new Set(['temporarily_unavailable', 'server_error'])

// RFC 6749 §5.2 codes that say the broker's own set-up is wrong (its client credentials or registration, the scope or
// resource an apis[] route asks for), not the user's grant: refusing every refresh must not log every user out
const clientFaults = new Set(['invalid_client', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope', 'invalid_target'])

/** a refusal that is the broker's fault: one of those codes, or a 401 challenge (RFC 6749 §5.2 invalid_client with Basic) */
const isClientFault = (problem: Problem) =>
  problem.kind === 'rejected' && (problem.oauthError === undefined || clientFaults.has(problem.oauthError))

// RFC 6749 §5.2 and RFC 8693 §2.2.2 codes that refuse this one exchange on policy grounds
const exchangeRefusals = new Set([
  'invalid_grant', 'invalid_target', 'invalid_scope', 'invalid_request', 'unauthorized_client', 'access_denied',
])

const str = (v: unknown) => (typeof v === 'string' ? v : undefined)
const httpStatus = (v: unknown) => {
  const s = (v as { status?: unknown } | undefined)?.status
  return typeof s === 'number' ? s : undefined
}

/** The chain of causes (openid-client wraps oauth4webapi, which wraps undici, which wraps the socket error). */
function chain(err: unknown): Loose[] {
  const out: Loose[] = []
  let cur: unknown = err
  while (cur && typeof cur === 'object' && out.length < 6) {
    out.push(cur as Loose)
    cur = (cur as Loose).cause
  }
  return out
}

/** Duck-typed on purpose: only oauth/openid-client-provider.ts imports openid-client (docs/architecture.md "Layers"). */
export function classifyOAuthError(err: unknown): Problem {
  const e = (err ?? {}) as Loose
  const code = str(e.code)
  const name = str(e.name) ?? 'Error'
  const message = str(e.message) ?? String(err)
  const status = httpStatus(e.cause) ?? httpStatus(e)
  // openid-client's "invalid response encountered" says what failed only in its cause (oauth4webapi's fixed text,
  // e.g. "JWT signature verification failed"); a cause that is not an Error (a response body) is left out
  const inner = e.cause instanceof Error ? e.cause.message : undefined
  const detail = [name, code, status && `HTTP ${status}`, message, inner && `(${inner})`].filter(Boolean).join(': ')

  if (code === 'OAUTH_RESPONSE_BODY_ERROR') {
    const oauthError = str(e.error) ?? 'unknown'
    const d = `${detail} (error=${oauthError})`
    if (oauthError === 'invalid_grant') return { kind: 'invalid_grant', detail: d, oauthError }
    if (transientOAuthErrors.has(oauthError) || (status ?? 0) >= 500 || status === 429) {
      return { kind: 'transient', detail: d, oauthError }
    }
    return { kind: 'rejected', detail: d, oauthError }
  }
  if (code === 'OAUTH_AUTHORIZATION_RESPONSE_ERROR') return { kind: 'denied', detail: `${detail} (error=${str(e.error)})` }
  if (code === 'OAUTH_WWW_AUTHENTICATE_CHALLENGE') return { kind: 'rejected', detail }
  for (const link of chain(err)) {
    const c = str(link.code)
    if ((c && networkCodes.has(c)) || link.name === 'TimeoutError' || link.name === 'AbortError') {
      return { kind: 'transient', detail }
    }
  }
  if (code && (code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' || code === 'OAUTH_RESPONSE_IS_NOT_JSON')) {
    if (status !== undefined && (status >= 500 || status === 429)) return { kind: 'transient', detail }
  }
  if (code && checkCodes.has(code)) return { kind: 'check_failed', detail }
  if (code && malformedCodes.has(code)) return { kind: 'malformed', detail }
  if (code && configCodes.has(code)) return { kind: 'config', detail }
  // undici's fetch rejects with a bare TypeError('fetch failed') whose cause names the socket error
  if (name === 'TypeError' && code === undefined) return { kind: 'transient', detail }
  return { kind: 'malformed', detail }
}

/** A 502 in the idp_unavailable family: the provider answered, but not with anything we can use. */
const badGateway = (detail: string, cause: Error) =>
  new BffError(502, 'idp_unavailable', { detail, cause, message: 'The identity provider gave an unusable answer.' })

function toBff(problem: Problem, context: OAuthContext, cause: Error): BffError {
  const o = { detail: `${context}: ${problem.detail}`, cause }
  if (problem.kind === 'config') return serverError(o)
  if (problem.kind === 'transient' || context === 'metadata') return idpUnavailable(o)
  switch (context) {
    // at login every non-transient failure is the user's "login failed" (a clear 4xx, README "Routes": /bff/callback)
    case 'callback':
    case 'userinfo':
      return loginFailed(o)
    // RFC 6749 §5.2: invalid_grant on the password grant means the credentials; 401 with one message for "no such
    // user" and "wrong password", so the answer does not tell which usernames exist
    case 'password':
      return problem.kind === 'invalid_grant'
        ? new BffError(401, 'login_failed', { ...o, message: 'Wrong username or password.' })
        : loginFailed(o)
    // RFC 6749 §5.2: invalid_grant says the refresh token is dead; so does any other OAuth error of a 4xx but 429
    // (LemonLDAP::NG answers invalid_request for an expired refresh token): retrying cannot help, the user logs in
    // again. A refusal that is the broker's fault (invalid_client …) keeps every session: a 502, backed off and
    // logged at error, until an operator fixes the set-up. A 4xx without an OAuth error body (an HTML 404 of a wrong
    // token endpoint URL) says nothing about the grant: a 502 as well
    case 'refresh':
      if (problem.kind === 'invalid_grant') return sessionExpired(o)
      if (problem.kind === 'rejected' && !isClientFault(problem)) return sessionExpired(o)
      return badGateway(o.detail, cause)
    // RFC 8693 §2.2.2: the provider refused this exchange (a subject token it will not exchange, an audience or
    // scope it will not grant): about this API only, the user's grant and session stay. invalid_client or
    // unsupported_grant_type say our set-up is wrong: a 502 like any unusable answer
    case 'token_exchange':
      return exchangeRefusals.has(problem.oauthError ?? '') ? exchangeRefused(o) : badGateway(o.detail, cause)
    // OIDC Core §5.3.2: an answer about another user is refused and fails the login; anything else (a 401 for an
    // access token meant for another audience, a signed answer we cannot read) costs only the profile claims, so it
    // is a 5xx the login step may ride out
    case 'profile':
      return problem.kind === 'check_failed' ? loginFailed(o) : badGateway(o.detail, cause)
    case 'client_credentials':
    case 'revoke':
      return badGateway(o.detail, cause)
  }
}

/**
 * The one funnel from openid-client (and fetch) failures to BffError (docs/architecture.md "Errors"). The original
 * error is not
 * kept as `cause`: openid-client attaches response bodies and callback parameters to its errors, which hold
 * tokens and codes; a copy with only its name and message is. Logs one line naming the provider.
 */
export function translateOAuthError(
  err: unknown,
  context: OAuthContext,
  log?: { logger: Logger; provider: string },
): BffError {
  if (err instanceof BffError) return err
  const problem = classifyOAuthError(err)
  const cause = new Error(str((err as Loose | undefined)?.message) ?? 'OAuth failure')
  cause.name = str((err as Loose | undefined)?.name) ?? 'Error'
  const error = toBff(problem, context, cause)
  if (log) {
    const quiet = problem.kind === 'invalid_grant' || problem.kind === 'denied'
    // the provider refused the broker's client itself: every user is affected until an operator acts
    const clientFault = isClientFault(problem) && context !== 'callback' && context !== 'password' && context !== 'userinfo' && context !== 'profile'
    log.logger[quiet ? 'info' : clientFault ? 'error' : 'warn'](
      { event: LogEvents.providerResponseInvalid, provider: log.provider, context, problem: problem.kind, detail: problem.detail },
      clientFault
        ? `provider ${log.provider}: ${context} refused the broker's client (check provider.clientId, clientSecret, clientAuth, scopes)`
        : `provider ${log.provider}: ${context} failed (${problem.kind})`,
    )
  }
  return error
}

/** Back-channel logout token failures (OIDC Back-Channel Logout 1.0 §2.8: answer 400). */
export const logoutTokenInvalid = (detail: string) => invalidRequest({ detail, message: 'The logout token is invalid.' })
