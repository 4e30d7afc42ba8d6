import { createHash } from 'node:crypto'
import type { RequestHandler } from 'express'
import type { LogoutTokenClaims, OAuthProvider } from '../../oauth/provider.js'
import type { SessionIndex } from '../../session/session-index.js'
import type { HttpSession } from '../../session/http-session.js'
import type { KeyValueStore } from '../../session/store.js'
import type { Logger } from '../../observability/logger.js'
import { LogEvents } from '../../observability/log-events.js'
import type { SessionLifecycle } from '../session-lifecycle.js'
import { BffError, invalidRequest, storeUnavailable } from '../../errors.js'
import { noteFailure } from '../errors.js'
import { redisKeys } from '../../session/keys.js'

/** the logout token verifier's clock tolerance: a jti is remembered at least until its token cannot pass any more */
const jtiGraceMs = 30_000

export interface BackchannelLogoutDeps {
  provider: OAuthProvider
  index: SessionIndex
  httpSession: HttpSession
  sessions: SessionLifecycle
  store: KeyValueStore
  prefix: string
  logger: Logger
  now: () => number
}

/**
 * POST /bff/backchannel-logout (OpenID Connect Back-Channel Logout 1.0): the provider posts a signed logout token
 * naming a `sid` and/or `sub`; every session it names ends. Authenticated by the token's signature, not a cookie.
 * Answers (§2.8): 200 once the sessions are gone; 400 `invalid_request` for a bad or replayed token; 503 when the
 * store fails, so the provider may send it again (§2.5: a retransmission is for "potentially recoverable errors").
 * Every answer is `Cache-Control: no-store` (§2.8; the error writer sets it on errors).
 */
export function createBackchannelLogoutRoute(deps: BackchannelLogoutDeps): RequestHandler {
  return async (req, res) => {
    const body = req.body as Record<string, unknown> | undefined
    const token = body?.logout_token
    if (typeof token !== 'string' || token.length === 0) throw invalidRequest({ message: 'logout_token is required.' })
    await deps.provider.ensureReady()
    const claims = await deps.provider.verifyLogoutToken(token)
    const jtiKey = redisKeys(deps.prefix).logoutTokenJti(createHash('sha256').update(claims.jti).digest('base64url'))
    const ttlMs = Math.max(0, claims.exp * 1000 - deps.now()) + jtiGraceMs
    // §2.6 step 7: a jti seen before is a replay; SET NX makes the check and the record one step on every instance
    if (!(await guarded(() => deps.store.setIfAbsent(jtiKey, '1', ttlMs)))) {
      throw invalidRequest({
        message: 'The logout token was already used.',
        detail: 'back-channel logout: jti replayed',
      })
    }
    let ended: number
    try {
      ended = await guarded(() => endNamedSessions(deps, claims))
    } catch (err) {
      // forget the jti, so that the provider's retry of this very token is not taken for a replay
      await deps.store.del(jtiKey).catch(() => undefined)
      noteFailure(req, { event: LogEvents.backchannelLogoutFailed })
      throw err
    }
    deps.logger.info({ event: LogEvents.backchannelLogout, sessions: ended }, 'back-channel logout')
    res.set('Cache-Control', 'no-store').status(200).end()
  }
}

/** §2.7: the sessions of the token's `sid`, else of its `sub`; with both, a session must match both. */
async function endNamedSessions(deps: BackchannelLogoutDeps, claims: LogoutTokenClaims): Promise<number> {
  const ids = await deps.index.find({ providerSub: claims.sid ? undefined : claims.sub, providerSid: claims.sid })
  let ended = 0
  for (const id of ids) {
    const broker = await deps.httpSession.load(id)
    // gone already: "the logout is considered to have succeeded" for it (§2.7)
    if (!broker) continue
    if (claims.sid && broker.providerSid !== claims.sid) continue
    // the ID token's sub; records from before providerSub existed only have the broker's subject
    if (claims.sub && (broker.providerSub ?? broker.sub) !== claims.sub) continue
    await deps.sessions.end(id, broker, { revoke: false, reason: 'backchannel' })
    ended++
  }
  return ended
}

/** Any store failure here is a 503: a 200 would tell the provider the sessions are gone when they are not. */
async function guarded<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (err) {
    if (err instanceof BffError && err.status >= 500) throw err
    const message = err instanceof Error ? err.message : String(err)
    throw storeUnavailable({ detail: `back-channel logout: store failed: ${message}`, cause: err })
  }
}
