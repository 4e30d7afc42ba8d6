import type { Request, RequestHandler } from 'express'
import type { OAuthProvider, TokenSet } from '../../oauth/provider.js'
import type { LoginTransactions } from '../../session/login-transactions.js'
import type { Logger } from '../../observability/logger.js'
import type { Metrics } from '../../observability/metrics.js'
import { LogEvents } from '../../observability/log-events.js'
import { loginFailed, toBffError } from '../../errors.js'
import { readCookie, sha256, type LoginRouteDeps } from './login.js'
import type { SessionLifecycle } from '../session-lifecycle.js'

export interface CallbackRouteDeps {
  provider: OAuthProvider
  transactions: LoginTransactions
  sessions: SessionLifecycle
  logger: Logger
  metrics: Metrics
  publicUrl: URL
  basePath: string
  redirectUri: string
  loginCookie: LoginRouteDeps['loginCookie']
}

/**
 * GET /bff/callback: state (single use, this browser's), then the code exchange (openid-client checks iss, PKCE,
 * nonce and the ID token), then a new session id. Any failure answers login_failed and stores nothing. Never logs
 * the query (it holds the code).
 */
export function createCallbackRoute(deps: CallbackRouteDeps): RequestHandler {
  return async (req, res) => {
    try {
      const returnTo = await completeLogin(req, deps)
      deps.metrics.loginOutcomes.inc({ outcome: 'success' })
      res.set('Cache-Control', 'no-store').redirect(302, returnTo)
    } catch (err) {
      const error = toBffError(err)
      deps.metrics.loginOutcomes.inc({ outcome: error.code })
      deps.logger.warn({ event: LogEvents.loginFailed, error: error.code, detail: error.detail }, 'login failed')
      throw error
    }
  }
}

async function completeLogin(req: Request, deps: CallbackRouteDeps): Promise<string> {
  const state = req.query.state
  if (typeof state !== 'string' || state.length === 0 || state.length > 512) {
    throw loginFailed({ message: 'The login response has no valid state.', detail: 'missing state' })
  }
  const expired = () => loginFailed({ message: 'The login has expired or was already used; start again.', detail: 'unknown state' })
  const pending = await deps.transactions.peek(state)
  if (!pending) throw expired()
  const binding = readCookie(req, deps.loginCookie.name)
  // checked before consuming, so another browser replaying this URL cannot burn the user's login
  if (!binding || sha256(binding) !== pending.bindingHash) {
    throw loginFailed({ message: 'The login was started in another browser.', detail: 'binding mismatch' })
  }
  // GETDEL: single use, also against two concurrent requests with the same state
  const tx = await deps.transactions.take(state)
  if (!tx) throw expired()
  const providerError = req.query.error
  if (providerError !== undefined) {
    const code = typeof providerError === 'string' ? providerError.replace(/[^\w.-]/g, '').slice(0, 64) : 'error'
    throw loginFailed({ message: `The identity provider refused the login (${code}).`, detail: `provider error ${code}` })
  }
  const callbackUrl = new URL(`${deps.basePath}/callback`, deps.publicUrl)
  callbackUrl.search = new URL(req.originalUrl, deps.publicUrl).search
  const tokens: TokenSet = await deps.provider.exchangeCode(
    callbackUrl,
    { state, codeVerifier: tx.codeVerifier, nonce: tx.nonce },
    deps.redirectUri,
  )
  await deps.sessions.start(req, tokens)
  return tx.returnTo
}
