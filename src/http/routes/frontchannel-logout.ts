import type { RequestHandler } from 'express'
import type { SessionIndex } from '../../session/session-index.js'
import type { HttpSession } from '../../session/http-session.js'
import type { Logger } from '../../observability/logger.js'
import { LogEvents } from '../../observability/log-events.js'
import type { SessionLifecycle } from '../session-lifecycle.js'
import { BffError, invalidRequest, storeUnavailable } from '../../errors.js'

export interface FrontchannelLogoutDeps {
  /** the provider's issuer, as configured (OIDC discovery) */
  issuer: URL
  /** origins allowed to frame the answer: the issuer's, and the end-session endpoint's when it differs */
  frameAncestors: readonly string[]
  index: SessionIndex
  httpSession: HttpSession
  sessions: SessionLifecycle
  logger: Logger
}

const page = '<!DOCTYPE html><html lang="en"><meta charset="utf-8"><title>Logged out</title><p>Logged out.</p></html>'

/** the same URL, as far as URLs go: `https://idp.example` and `https://idp.example/` name one issuer */
const sameIssuer = (iss: string, issuer: URL) => URL.canParse(iss) && new URL(iss).href === issuer.href

/**
 * GET /bff/frontchannel-logout?iss=…&sid=… (OpenID Connect Front-Channel Logout 1.0): the provider's logout page
 * frames this URL; every session of that provider `sid` ends. The session cookie is SameSite=Strict and never comes
 * along in a cross-site frame, so the `sid` names the sessions, and both parameters are required (§2: "If either is
 * included, both MUST be"; the client registers frontchannel_logout_session_required). The `sid` is a bearer value
 * the provider put in the ID token: an unknown one is not an error (200, nothing to do), a wrong `iss` is (the iss
 * names the provider the sid belongs to). Offline grants outlive it, as with back-channel logout. The answer may be
 * framed by the provider's origin only, and is never cached (§2 recommends `Cache-Control: no-cache, no-store` and
 * `Pragma: no-cache`, so that a cached answer never stands in for a later logout).
 */
export function createFrontchannelLogoutRoute(deps: FrontchannelLogoutDeps): RequestHandler {
  const csp = `default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors ${deps.frameAncestors.join(' ')}`
  return async (req, res) => {
    res.set('Cache-Control', 'no-cache, no-store').set('Pragma', 'no-cache')
    const { iss, sid } = req.query
    if (typeof iss !== 'string' || typeof sid !== 'string' || sid.length === 0 || sid.length > 255) {
      throw invalidRequest({ message: 'iss and sid are required.', detail: 'front-channel logout without iss and sid' })
    }
    if (!sameIssuer(iss, deps.issuer)) {
      throw invalidRequest({ message: 'The issuer is not this application\'s provider.', detail: 'front-channel logout: iss mismatch' })
    }
    const ended = await endSessionsOf(deps, sid)
    deps.logger.info({ event: LogEvents.frontchannelLogout, sessions: ended }, 'front-channel logout')
    res.removeHeader('X-Frame-Options')
    res.set('Content-Security-Policy', csp).type('html').status(200).send(page)
  }
}

async function endSessionsOf(deps: FrontchannelLogoutDeps, sid: string): Promise<number> {
  try {
    let ended = 0
    for (const id of await deps.index.find({ providerSid: sid })) {
      const broker = await deps.httpSession.load(id)
      if (!broker || broker.providerSid !== sid) continue
      await deps.sessions.end(id, broker, { revoke: false, reason: 'frontchannel' })
      ended++
    }
    return ended
  } catch (err) {
    if (err instanceof BffError) throw err
    throw storeUnavailable({ detail: `front-channel logout: store failed: ${err instanceof Error ? err.message : String(err)}`, cause: err })
  }
}
