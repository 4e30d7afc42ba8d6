// The error model (STYLE: one class, small factories): every layer may import this module; it imports nothing of ours.

/** The closed set of error codes the broker answers with (docs/architecture.md "Errors"). */
export type BffErrorCode =
  | 'unauthorized'
  | 'csrf_failed'
  | 'session_expired'
  | 'login_failed'
  | 'idp_unavailable'
  | 'upstream_unavailable'
  | 'upstream_timeout'
  | 'session_store_unavailable'
  | 'invalid_request'
  | 'not_found'
  | 'too_many_requests'
  | 'request_timeout'
  | 'server_error'
  | 'invalid_grant'
  | 'invalid_dpop_proof'
  | 'invalid_client'
  | 'unsupported_grant_type'
  | 'forbidden'
  | 'no_offline_grant'
  | 'exchange_refused'

export const defaultMessages: Record<BffErrorCode, string> = {
  unauthorized: 'No session: log in first.',
  csrf_failed: 'The X-CSRF: 1 header is required.',
  session_expired: 'The session has expired: log in again.',
  login_failed: 'The login could not be completed.',
  idp_unavailable: 'The identity provider is unavailable; try again shortly.',
  upstream_unavailable: 'The upstream API could not be reached.',
  upstream_timeout: 'The upstream API did not answer in time.',
  session_store_unavailable: 'The session store is unavailable; try again shortly.',
  invalid_request: 'The request is invalid.',
  not_found: 'Not found.',
  too_many_requests: 'Too many attempts; try again later.',
  request_timeout: 'The request body did not arrive in time.',
  server_error: 'An unexpected error occurred.',
  invalid_grant: 'The code is invalid, expired or already used.',
  invalid_dpop_proof: 'The DPoP proof is missing or invalid.',
  invalid_client: 'Client authentication failed.',
  unsupported_grant_type: 'The grant type is not supported here.',
  forbidden: 'This caller may not use this route.',
  no_offline_grant: 'The user has granted no offline access.',
  exchange_refused: 'The identity provider refused a token for this API.',
}

export class BffError extends Error {
  readonly status: number
  readonly code: BffErrorCode
  /** whether `message` may be shown to the client */
  readonly expose: boolean
  /** server-only detail for the logs; never sent */
  readonly detail: string | undefined
  /** the WWW-Authenticate challenge of a 401 (RFC 9110 §11.6.1); the cookie realm when absent */
  readonly wwwAuthenticate: string | undefined
  /** seconds until a retry may succeed, sent as Retry-After (RFC 9110 §10.2.3) */
  readonly retryAfterSeconds: number | undefined

  constructor(
    status: number,
    code: BffErrorCode,
    opts: {
      message?: string; detail?: string; cause?: unknown; expose?: boolean; wwwAuthenticate?: string; retryAfterSeconds?: number
    } = {},
  ) {
    super(opts.message ?? defaultMessages[code], { cause: opts.cause })
    this.name = 'BffError'
    this.status = status
    this.code = code
    this.expose = opts.expose ?? status < 500
    this.detail = opts.detail
    this.wwwAuthenticate = opts.wwwAuthenticate
    this.retryAfterSeconds = opts.retryAfterSeconds
  }
}

type Opts = { message?: string; detail?: string; cause?: unknown; wwwAuthenticate?: string; retryAfterSeconds?: number }
export const unauthorized = (o?: Opts) => new BffError(401, 'unauthorized', o)
export const csrfFailed = (o?: Opts) => new BffError(403, 'csrf_failed', o)
export const sessionExpired = (o?: Opts) => new BffError(401, 'session_expired', o)
export const loginFailed = (o?: Opts) => new BffError(400, 'login_failed', o)
export const invalidRequest = (o?: Opts) => new BffError(400, 'invalid_request', o)
export const notFound = (o?: Opts) => new BffError(404, 'not_found', o)
export const tooManyRequests = (o?: Opts) => new BffError(429, 'too_many_requests', o)
// RFC 6749 §5.2 codes of the job token endpoint, and the job caller's refusals
export const invalidClient = (o?: Opts) => new BffError(401, 'invalid_client', o)
export const unsupportedGrantType = (o?: Opts) => new BffError(400, 'unsupported_grant_type', o)
export const forbidden = (o?: Opts) => new BffError(403, 'forbidden', o)
export const noOfflineGrant = (o?: Opts) => new BffError(403, 'no_offline_grant', o)
// RFC 8693 §2.2.2: the provider refused the exchange; the user's grant stands (not session_expired), and unlike
// `forbidden` (the broker's own route rules) it says the provider's policy decided
export const exchangeRefused = (o?: Opts) => new BffError(403, 'exchange_refused', o)
export const requestTimeout = (o?: Opts) => new BffError(408, 'request_timeout', o)
// 5xx messages are fixed texts, safe to show even though expose is false
export const idpUnavailable = (o?: Opts) => new BffError(503, 'idp_unavailable', o)
export const storeUnavailable = (o?: Opts) => new BffError(503, 'session_store_unavailable', o)
export const upstreamUnavailable = (o?: Opts) => new BffError(502, 'upstream_unavailable', o)
export const upstreamTimeout = (o?: Opts) => new BffError(504, 'upstream_timeout', o)
export const invalidGrant = (o?: Opts) => new BffError(400, 'invalid_grant', o)
export const serverError = (o?: Opts) => new BffError(500, 'server_error', o)

/** Converts anything thrown into a BffError; unknown errors become server_error with no details leaked. */
export function toBffError(err: unknown): BffError {
  if (err instanceof BffError) return err
  const e = err as { status?: unknown; statusCode?: unknown; type?: unknown } | undefined
  const status = typeof e?.status === 'number' ? e.status : typeof e?.statusCode === 'number' ? e.statusCode : 0
  // body-parser and friends: client errors (malformed JSON, too large) keep their 4xx
  if (status >= 400 && status < 500) {
    return new BffError(status === 413 ? 413 : 400, 'invalid_request', {
      message: status === 413 ? 'The request body is too large.' : 'The request body is malformed.',
      cause: err,
    })
  }
  return serverError({ cause: err })
}

