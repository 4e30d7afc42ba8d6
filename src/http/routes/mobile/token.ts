import type { Request, RequestHandler } from 'express'
import type { MobileApp } from '../../../config/types.js'
import type { HandoffCodes } from '../../../mobile/handoff.js'
import { DpopError, type DpopVerifier } from '../../../mobile/dpop.js'
import { sha256b64url } from '../../../sha256.js'
import type { HttpSession } from '../../../session/http-session.js'
import { absoluteDeadline, type BrokerSession, type SessionTimeouts } from '../../../session/session.js'
import type { Logger } from '../../../observability/logger.js'
import { LogEvents } from '../../../observability/log-events.js'
import { BffError, invalidGrant, invalidRequest, unsupportedGrantType } from '../../../errors.js'
import type { SessionLifecycle } from '../../session-lifecycle.js'
import { headerLines } from '../../header-lines.js'

// RFC 7636 §4.1: 43 to 128 unreserved characters
const verifierPattern = /^[A-Za-z0-9._~-]{43,128}$/

const PARAMS = ['grant_type', 'client_id', 'code', 'code_verifier', 'redirect_uri'] as const
type TokenParams = Partial<Record<(typeof PARAMS)[number], string>>

const malformed = (message: string) => invalidRequest({ message, detail: `mobile token: ${message}` })

/**
 * The token request's parameters (RFC 6749 §4.1.3): a form body, each parameter at most once (§3.2), grant_type and
 * code present. Otherwise invalid_request (§5.2), before the code or the proof is touched, so the code stays usable.
 */
function tokenParams(req: Request): TokenParams & { code: string } {
  if (!req.is('application/x-www-form-urlencoded')) throw malformed('The body must be application/x-www-form-urlencoded.')
  const body = (req.body ?? {}) as Record<string, unknown>
  const params: TokenParams = {}
  for (const name of PARAMS) {
    const value = body[name]
    if (Array.isArray(value)) throw malformed(`${name} is repeated.`)
    if (typeof value === 'string') params[name] = value
  }
  if (!params.grant_type) throw malformed('grant_type is required.')
  if (params.grant_type !== 'authorization_code') throw unsupportedGrantType()
  const { code } = params
  if (!code) throw malformed('code is required.')
  return { ...params, code }
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
    const params = tokenParams(req)
    const clientId = params.client_id
    const app = clientId === undefined ? undefined : apps.get(clientId)
    // the proof is checked before the code is touched: a bad proof must not burn the app's code
    let jkt: string | undefined
    if (app?.dpop) {
      try {
        ;({ jkt } = await deps.dpop.verify({ proof: headerLines(req, 'dpop'), method: 'POST', path: req.originalUrl }))
      } catch (err) {
        throw err instanceof DpopError ? badProof(err.reason) : err
      }
    }
    const redemption = await deps.handoffs.redeem(params.code)
    if (redemption.kind === 'used') {
      await endSession(redemption.sessionId)
      throw refuse('handoff code used twice: its session ended')
    }
    if (redemption.kind === 'unknown') throw refuse('unknown or expired handoff code')
    const { handoff } = redemption
    const verifier = params.code_verifier
    if (!app || handoff.clientId !== app.clientId) throw await refused(handoff.sessionId, 'another client_id')
    if (params.redirect_uri !== handoff.redirectUri) throw await refused(handoff.sessionId, 'another redirect_uri')
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
