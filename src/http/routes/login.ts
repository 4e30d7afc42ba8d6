import { randomBytes } from 'node:crypto'
import { sha256b64url } from '../../sha256.js'
import type { Request, RequestHandler, Response } from 'express'
import type { OAuthProvider } from '../../oauth/provider.js'
import type { LoginTransactions, MobileLogin } from '../../session/login-transactions.js'
import type { Logger } from '../../observability/logger.js'
import { LogEvents } from '../../observability/log-events.js'
import { invalidRequest, tooManyRequests } from '../../errors.js'
import { noteFailure } from '../errors.js'
import { safeReturnTo } from '../return-to.js'
import { setLoginCookie, type LoginCookieOptions } from '../login-cookies.js'
import type { RateLimiter, WindowLimit } from '../rate-limit.js'
import { clientAddressKey } from '../client-address.js'
import type { TrustProxy } from '../../proxy/headers.js'

export interface LoginRouteDeps {
  provider: OAuthProvider
  transactions: LoginTransactions
  limiter: RateLimiter
  /** logins started per client address and minute (session.loginRateLimitPerMinute) */
  loginLimit: WindowLimit
  logger: Logger
  publicUrl: URL
  redirectUri: string
  allowedReturnOrigins: readonly string[]
  openid: boolean
  loginCookie: LoginCookieOptions
  trustProxy: TrustProxy
  now: () => number
}

const random = () => randomBytes(32).toString('base64url')

/** The per-address window of /bff/login and of the callback, from `session.loginRateLimitPerMinute`. */
export const loginLimits = (perMinute: number) => ({
  login: { name: 'login-ip', limit: perMinute, windowMs: 60_000 },
  callback: { name: 'callback-ip', limit: perMinute, windowMs: 60_000 },
}) satisfies Record<string, WindowLimit>

/**
 * Counts one hit for the request's address; over the limit → 429 with Retry-After (RFC 6585 §4, RFC 9110
 * §10.2.3), logged once per window. The limiter's own store errors go to the shared error path (503).
 */
export async function enforceAddressLimit(
  req: Request,
  res: Response,
  deps: { limiter: RateLimiter; logger: Logger; trustProxy: TrustProxy },
  limit: WindowLimit,
) {
  const ip = clientAddressKey(req, deps.trustProxy)
  const verdict = await deps.limiter.hit([{ limit, key: ip }])
  if (!verdict.limited) return
  // the first refusal of a window is logged under login.rate_limited (by the error writer, one line)
  if (verdict.first) noteFailure(req, { event: LogEvents.loginRateLimited, limit: verdict.name, ip, retryAfterSeconds: verdict.retryAfterSeconds })
  res.set('Retry-After', String(verdict.retryAfterSeconds))
  throw tooManyRequests({
    message: `Too many logins from this address; try again in ${verdict.retryAfterSeconds} s.`,
    detail: `${verdict.name} limit`,
  })
}

/**
 * Starts the code flow (PKCE S256, state, nonce) for this browser: the transaction goes in a sealed login cookie,
 * and the answer is the 302 to the authorization endpoint. Shared by the browser and the mobile logins.
 */
export async function beginLogin(
  req: Request,
  res: Response,
  deps: LoginRouteDeps,
  login: { returnTo: string; offline?: boolean; mobile?: MobileLogin },
): Promise<void> {
  await deps.provider.ensureReady()
  const state = random()
  const codeVerifier = random()
  const nonce = deps.openid ? random() : undefined
  const createdAt = deps.now()
  // the transaction lives in this browser's cookie, not in Redis: a flood of logins stores nothing here
  const sealed = deps.transactions.seal(state, { codeVerifier, nonce, createdAt, ...login })
  setLoginCookie(req, res, deps.loginCookie, { state, sealed, createdAt })
  const url = await deps.provider.authorizationUrl({
    state,
    nonce,
    codeChallenge: sha256b64url(codeVerifier),
    redirectUri: deps.redirectUri,
    offline: login.offline,
  })
  deps.logger.info({ event: LogEvents.loginStarted, ...(login.mobile && { clientId: login.mobile.clientId }) }, 'login started')
  res.set('Cache-Control', 'no-store').redirect(302, url.href)
}

/** GET /bff/login?returnTo=/path[&offline=1] → 302 to the authorization endpoint. */
export function createLoginRoute(deps: LoginRouteDeps): RequestHandler {
  return async (req, res) => {
    await enforceAddressLimit(req, res, deps, deps.loginLimit)
    const returnTo = safeReturnTo(req.query.returnTo, deps.publicUrl, deps.allowedReturnOrigins)
    if (!returnTo) throw invalidRequest({ message: 'returnTo must be a relative path on this site.' })
    const offline = req.query.offline === '1' || req.query.offline === 'true'
    await beginLogin(req, res, deps, { returnTo, ...(offline && { offline }) })
  }
}
