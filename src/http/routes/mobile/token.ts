import type { RequestHandler } from 'express'
import type { MobileApp } from '../../../config/types.js'
import type { HandoffCodes } from '../../../mobile/handoff.js'
import { DpopError, sha256b64url, type DpopVerifier } from '../../../mobile/dpop.js'
import type { HttpSession } from '../../../session/http-session.js'
import { absoluteDeadline, type BrokerSession, type SessionTimeouts } from '../../../session/session.js'
import type { Logger } from '../../../observability/logger.js'
import { LogEvents } from '../../../observability/log-events.js'
import { BffError, invalidGrant, unsupportedGrantType } from '../../../errors.js'
import type { SessionLifecycle } from '../../session-lifecycle.js'

// RFC 7636 §4.1: 43 to 128 unreserved characters
const verifierPattern = /^[A-Za-z0-9._~-]{43,128}$/

const field = (body: unknown, name: string): string | undefined => {
  const value = body && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined
  return typeof value === 'string' ? value : undefined
}

const badProof = (reason: string) => new BffError(400, 'invalid_dpop_proof', { detail: reason })

/**
 * POST /bff/mobile/token: the app redeems its handoff code for the session handle (RFC 6749 §4.1.3 with RFC 7636
 * §4.6 and RFC 9449 §5). The code works once, within its TTL, with the verifier of its challenge, the same
 * client_id and redirect_uri and, for DPoP apps, a proof from the bound key. A second use ends the session the
 * code made (RFC 6749 §4.1.2). Every refusal of the code itself is the same `invalid_grant`.
 */
export function createMobileTokenRoute(deps: {
  apps: readonly MobileApp[]
  handoffs: HandoffCodes
  dpop: DpopVerifier
  httpSession: HttpSession
  sessions: SessionLifecycle
  timeouts: SessionTimeouts
  logger: Logger
  now: () => number
}): RequestHandler {
  const apps = new Map(deps.apps.map((app) => [app.clientId, app]))
  const refuse = (detail: string) => invalidGrant({ detail })

  return async (req, res) => {
    res.set('Cache-Control', 'no-store').set('Pragma', 'no-cache')
    if (field(req.body, 'grant_type') !== 'authorization_code') throw unsupportedGrantType()
    const clientId = field(req.body, 'client_id')
    const app = clientId === undefined ? undefined : apps.get(clientId)
    // the proof is checked before the code is touched: a bad proof must not burn the app's code
    let jkt: string | undefined
    if (app?.dpop) {
      try {
        ;({ jkt } = await deps.dpop.verify({ proof: req.headersDistinct.dpop, method: 'POST', path: req.originalUrl }))
      } catch (err) {
        throw err instanceof DpopError ? badProof(err.reason) : err
      }
    }
    const code = field(req.body, 'code') ?? ''
    const redemption = await deps.handoffs.redeem(code)
    if (redemption.kind === 'used') {
      await endSession(redemption.sessionId)
      throw refuse('handoff code used twice: its session ended')
    }
    if (redemption.kind === 'unknown') throw refuse('unknown or expired handoff code')
    const { handoff } = redemption
    const verifier = field(req.body, 'code_verifier')
    if (!app || handoff.clientId !== app.clientId) throw await refused(handoff.sessionId, 'another client_id')
    if (field(req.body, 'redirect_uri') !== handoff.redirectUri) throw await refused(handoff.sessionId, 'another redirect_uri')
    if (!verifier || !verifierPattern.test(verifier) || sha256b64url(verifier) !== handoff.codeChallenge) {
      throw await refused(handoff.sessionId, 'wrong code_verifier')
    }
    if (handoff.dpopJkt !== undefined && jkt !== handoff.dpopJkt) {
      await endSession(handoff.sessionId)
      throw badProof('proof from another key than dpop_jkt')
    }
    const session = await deps.httpSession.load(handoff.sessionId)
    if (!session || session.kind !== 'mobile') throw refuse('the session of the handoff code is gone')
    // the code's lifetime by the broker's clock too, not only by its Redis TTL (RFC 6749 §4.1.2: short-lived)
    if (session.handoffUntil === undefined || deps.now() >= session.handoffUntil) {
      throw await refused(handoff.sessionId, 'handoff code expired')
    }
    const active = await deps.sessions.redeemed(handoff.sessionId, session).catch((err: unknown) => {
      // ended meanwhile (a parallel second use of the code): the code is as good as used
      throw err instanceof BffError && err.code === 'session_expired' ? refuse(err.detail ?? 'session ended') : err
    })
    deps.logger.info({ event: LogEvents.mobileHandoffRedeemed, clientId: app.clientId, sub: active.sub }, 'mobile handoff redeemed')
    res.json({
      access_token: handoff.handle,
      token_type: handoff.dpopJkt !== undefined ? 'DPoP' : 'Bearer',
      expires_in: Math.max(0, Math.floor((absoluteDeadline(active, deps.timeouts) - deps.now()) / 1000)),
    })
  }

  /** A code presented with the wrong binding is burnt (it was swapped out), and so is its session. */
  async function refused(sessionId: string, detail: string): Promise<BffError> {
    await endSession(sessionId)
    return refuse(detail)
  }

  async function endSession(sessionId: string) {
    const session: BrokerSession | undefined = await deps.httpSession.load(sessionId)
    if (session) await deps.sessions.end(sessionId, session, { revoke: true, reason: 'handoff_refused' })
  }
}
