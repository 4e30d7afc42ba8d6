import type { TokenSet } from '../../../oauth/provider.js'
import type { MobileLogin } from '../../../session/login-transactions.js'
import type { HandoffCodes } from '../../../mobile/handoff.js'
import type { Logger } from '../../../observability/logger.js'
import type { Metrics } from '../../../observability/metrics.js'
import { LogEvents } from '../../../observability/log-events.js'
import { toBffError } from '../../../errors.js'
import type { SessionLifecycle } from '../../session-lifecycle.js'
import { appRedirect } from './app-redirect.js'

export type FinishMobileLogin = (login: MobileLogin, exchange: () => Promise<TokenSet>) => Promise<string>

/**
 * The end of a mobile login at /bff/callback: the session is made (no cookie), bound to a one-time handoff code,
 * and the browser goes back to the app with `code`, `state` and `iss`. The app never sees a provider token. A
 * failure goes back to the app as an OAuth error (RFC 6749 §4.1.2.1): it is the app that must show it.
 */
export function createMobileLoginFinisher(deps: {
  sessions: SessionLifecycle
  handoffs: HandoffCodes
  publicUrl: URL
  handoffTtlSeconds: number
  logger: Logger
  metrics: Metrics
  now: () => number
}): FinishMobileLogin {
  return async (login, exchange) => {
    const back = (params: Record<string, string>) => appRedirect(login.redirectUri, deps.publicUrl, { ...params, state: login.state })
    try {
      const tokens = await exchange()
      const ttlMs = deps.handoffTtlSeconds * 1000
      const { handle, sessionId } = await deps.sessions.startMobile(tokens, login, deps.now() + ttlMs)
      const code = await deps.handoffs.issue(
        { sessionId, handle, clientId: login.clientId, redirectUri: login.redirectUri, codeChallenge: login.codeChallenge, dpopJkt: login.dpopJkt },
        ttlMs,
      )
      deps.metrics.loginOutcomes.inc({ outcome: 'success' })
      return back({ code })
    } catch (err) {
      const error = toBffError(err)
      deps.metrics.loginOutcomes.inc({ outcome: error.code })
      deps.logger.warn({ event: LogEvents.loginFailed, clientId: login.clientId, error: error.code, detail: error.detail }, 'mobile login failed')
      // a refusal (the provider's, or a token that did not validate) is access_denied; an outage may pass
      return back(error.status >= 500 ? { error: 'temporarily_unavailable' } : { error: 'access_denied' })
    }
  }
}
