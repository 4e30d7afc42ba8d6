import type { Request, RequestHandler, Response } from 'express'
import type { OAuthProvider, TokenSet } from '../../oauth/provider.js'
import type { LoginTransaction, LoginTransactions } from '../../session/login-transactions.js'
import type { Logger } from '../../observability/logger.js'
import type { Metrics } from '../../observability/metrics.js'
import { LogEvents } from '../../observability/log-events.js'
import { loginFailed, toBffError } from '../../errors.js'
import { enforceAddressLimit } from './login.js'
import { noteFailure } from '../errors.js'
import { clearLoginCookies, loginCookieName, readLoginCookie, type LoginCookieOptions } from '../login-cookies.js'
import type { RateLimiter, WindowLimit } from '../rate-limit.js'
import type { SessionLifecycle } from '../session-lifecycle.js'
import type { TrustProxy } from '../../proxy/headers.js'
import type { FinishMobileLogin } from './mobile/finish-login.js'

export interface CallbackRouteDeps {
  provider: OAuthProvider
  transactions: LoginTransactions
  sessions: SessionLifecycle
  logger: Logger
  metrics: Metrics
  publicUrl: URL
  basePath: string
  redirectUri: string
  loginCookie: LoginCookieOptions
  limiter: RateLimiter
  trustProxy: TrustProxy
  /** callbacks with a valid login cookie, per client address and minute */
  callbackLimit: WindowLimit
  /** the end of a mobile app's login (absent: no mobile apps configured) */
  finishMobile?: FinishMobileLogin
}

/**
 * GET /bff/callback: state (single use, this browser's), then the code exchange (openid-client checks iss, PKCE,
 * nonce and the ID token), then a new session id. Any failure answers login_failed and stores no session or grant
 * (the one write before the exchange is the consumed-state marker). Never logs the query (it holds the code).
 */
export function createCallbackRoute(deps: CallbackRouteDeps): RequestHandler {
  return async (req, res) => {
    try {
      const { location, mobile } = await completeLogin(req, res, deps)
      if (!mobile) deps.metrics.loginOutcomes.inc({ outcome: 'success' })
      res.set('Cache-Control', 'no-store').redirect(302, location)
    } catch (err) {
      deps.metrics.loginOutcomes.inc({ outcome: toBffError(err).code })
      // one line, by the error writer, under login.failed; rethrown as it came: the writer tells a store failure
      // (503) from a bug (500)
      noteFailure(req, { event: LogEvents.loginFailed })
      throw err
    }
  }
}

/**
 * Only the browser that started this login holds its sealed transaction (invariant 4): a stranger replaying the
 * callback URL has no cookie for it, so it can neither complete nor burn the user's login.
 */
function openLogin(req: Request, deps: CallbackRouteDeps, state: string): LoginTransaction {
  const sealed = readLoginCookie(req, deps.loginCookie.name, state)
  const tx = sealed === undefined ? undefined : deps.transactions.open(state, sealed)
  if (tx) return tx
  throw loginFailed({
    message: 'The login has expired, was already used or was started in another browser; start again.',
    detail: sealed === undefined ? 'no login cookie for this state' : 'login cookie does not open or has expired',
  })
}

async function completeLogin(req: Request, res: Response, deps: CallbackRouteDeps): Promise<{ location: string; mobile: boolean }> {
  const state = req.query.state
  if (typeof state !== 'string' || state.length === 0 || state.length > 512) {
    throw loginFailed({ message: 'The login response has no valid state.', detail: 'missing state' })
  }
  const tx = openLogin(req, deps, state)
  // the consumed-state marker below costs a store write: bounded per address (and each needs a transaction that
  // /bff/login sealed, under its own limit); a refused callback keeps its cookie, so the user may retry
  await enforceAddressLimit(req, res, deps, deps.callbackLimit)
  // the login ends here, whatever follows: its cookie goes, other tabs' pending logins stay
  clearLoginCookies(res, deps.loginCookie, [loginCookieName(deps.loginCookie.name, state)])
  const exchange = () => exchangeCode(req, deps, state, tx)
  // a mobile login ends in the app, never in a cookie session of this browser
  if (tx.mobile) {
    if (!deps.finishMobile) throw loginFailed({ detail: 'mobile login, but no mobile apps are configured any more' })
    return { location: await deps.finishMobile(tx.mobile, exchange), mobile: true }
  }
  await deps.sessions.start(req, await exchange(), { offline: tx.offline === true })
  return { location: tx.returnTo, mobile: false }
}

async function exchangeCode(req: Request, deps: CallbackRouteDeps, state: string, tx: LoginTransaction): Promise<TokenSet> {
  const providerError = req.query.error
  if (providerError !== undefined) {
    const code = typeof providerError === 'string' ? providerError.replace(/[^\w.-]/g, '').slice(0, 64) : 'error'
    throw loginFailed({ message: `The identity provider refused the login (${code}).`, detail: `provider error ${code}` })
  }
  // single use across instances, also against two concurrent requests with the same state
  if (!(await deps.transactions.consume(state, tx))) {
    throw loginFailed({ message: 'This login was already used; start again.', detail: 'state replayed' })
  }
  const callbackUrl = new URL(`${deps.basePath}/callback`, deps.publicUrl)
  callbackUrl.search = new URL(req.originalUrl, deps.publicUrl).search
  return deps.provider.exchangeCode(callbackUrl, { state, codeVerifier: tx.codeVerifier, nonce: tx.nonce }, deps.redirectUri)
}
