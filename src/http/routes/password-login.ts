import type { ErrorRequestHandler, Request, RequestHandler } from 'express'
import type { OAuthProvider } from '../../oauth/provider.js'
import type { KeyValueStore } from '../../session/store.js'
import type { Logger } from '../../observability/logger.js'
import type { Metrics } from '../../observability/metrics.js'
import { LogEvents } from '../../observability/log-events.js'
import type { SessionLifecycle } from '../session-lifecycle.js'
import { createRateLimiter, hashKey, type WindowLimit } from '../rate-limit.js'
import { clientAddressKey } from '../client-address.js'
import type { TrustProxy } from '../../proxy/headers.js'
import { BffError, invalidRequest, toBffError, tooManyRequests } from '../../errors.js'
import { noteFailure } from '../errors.js'
import { sessionInfo } from './session-info.js'
import type { BrokerSession, SessionTimeouts } from '../../session/session.js'

/**
 * Online guessing limits (RFC 9700 §2.4 deprecates the password grant; while it is on, guessing is throttled).
 * Fixed constants until the config grows keys for them: per client IP, enough for a few users behind one NAT;
 * per username, a handful of typos but no useful dictionary attack.
 */
export const passwordLoginLimits = {
  ip: { name: 'pw-ip', limit: 10, windowMs: 60_000 },
  username: { name: 'pw-user', limit: 5, windowMs: 60_000 },
} as const satisfies Record<string, WindowLimit>

/** the body parsers' limit on this route: two short fields need no more */
export const passwordBodyLimit = '4kb'

const maxUsernameLength = 256
const maxPasswordLength = 1024

export interface PasswordLoginRouteDeps {
  provider: OAuthProvider
  sessions: SessionLifecycle
  store: KeyValueStore
  prefix: string
  logger: Logger
  metrics: Metrics
  basePath: string
  timeouts: SessionTimeouts
  now: () => number
  /** config.trustProxy: which client address the per-address limit counts (an IPv6 client by its /64) */
  trustProxy: TrustProxy
}

/**
 * POST /bff/login/password (only with provider.passwordGrant): the legacy resource owner password grant
 * (RFC 6749 §4.3) for first-party providers that offer nothing else. CSRF header, validation, rate limits,
 * then the grant; success is the code flow's session (new session id) and the /bff/user answer. The password
 * is passed to the provider and dropped: never logged, never stored.
 */
export function createPasswordLoginRoute(deps: PasswordLoginRouteDeps): RequestHandler {
  const limiter = createRateLimiter({ store: deps.store, prefix: deps.prefix, now: deps.now })

  return async (req, res) => {
    const { username, password } = readCredentials(req.body)
    const ip = clientAddressKey(req, deps.trustProxy)
    const verdict = await limiter.hit([
      { limit: passwordLoginLimits.ip, key: ip },
      // one counter for "Alice@x" and "alice@x ": most providers match usernames that way
      { limit: passwordLoginLimits.username, key: username.trim().toLowerCase() },
    ])
    if (verdict.limited) {
      deps.metrics.loginOutcomes.inc({ outcome: 'too_many_requests' })
      noteFailure(req, {
        event: LogEvents.passwordLoginRateLimited, limit: verdict.name, ip, user: hashKey(username.trim().toLowerCase()), retryAfterSeconds: verdict.retryAfterSeconds,
      })
      res.set('Retry-After', String(verdict.retryAfterSeconds))
      throw tooManyRequests({ detail: `password login: ${verdict.name} limit` })
    }
    let session: BrokerSession
    try {
      // provider failures are BffErrors already: invalid_grant is 401 login_failed, with one message for
      // "no such user" and "wrong password" (no user enumeration)
      const tokens = await deps.provider.password(username, password)
      session = await deps.sessions.start(req, tokens)
    } catch (err) {
      deps.metrics.loginOutcomes.inc({ outcome: toBffError(err).code })
      // logged once, by the error writer; rethrown as it came, so a store failure stays a 503
      noteFailure(req, { event: LogEvents.loginFailed, grant: 'password' })
      throw err
    }
    deps.metrics.loginOutcomes.inc({ outcome: 'success' })
    res.set('Cache-Control', 'no-store').json(sessionInfo(session, deps))
  }
}

function readCredentials(body: unknown): { username: string; password: string } {
  const fields = body && typeof body === 'object' ? (body as Record<string, unknown>) : undefined
  if (!fields) {
    throw invalidRequest({ message: 'Send username and password as JSON or as form fields.', detail: 'no body' })
  }
  const { username, password } = fields
  if (typeof username !== 'string' || username.trim().length === 0 || username.length > maxUsernameLength) {
    throw invalidRequest({ message: `username must be a string of 1 to ${maxUsernameLength} characters.` })
  }
  if (typeof password !== 'string' || password.length === 0 || password.length > maxPasswordLength) {
    throw invalidRequest({ message: `password must be a string of 1 to ${maxPasswordLength} characters.` })
  }
  return { username, password }
}

/**
 * Placed right after the body parsers: their errors quote the body they failed on (V8's JSON.parse messages
 * do), which holds the password, and the error handler logs an error's cause. Only the error's type is kept.
 * Errors from earlier handlers (CSRF, session store) pass through untouched.
 */
export const scrubBodyErrors: ErrorRequestHandler = (err, _req: Request, _res, next) => {
  const e = err as { status?: unknown; type?: unknown } | undefined
  if (err instanceof BffError || typeof e?.type !== 'string' || typeof e.status !== 'number' || e.status >= 500) {
    return next(err)
  }
  const tooLarge = e.status === 413
  next(new BffError(tooLarge ? 413 : 400, 'invalid_request', {
    message: tooLarge ? 'The request body is too large.' : 'The request body is malformed.',
    detail: `password login body: ${e.type}`,
  }))
}
