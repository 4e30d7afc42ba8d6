import type { IncomingMessage } from 'node:http'
import type { RequestHandler } from 'express'
import type { HttpSession } from '../session/http-session.js'
import type { Grant, GrantStore } from '../session/grant-store.js'
import type { KeyValueStore } from '../session/store.js'
import { absoluteDeadline, type BrokerSession, type SessionTimeouts } from '../session/session.js'
import { isHandle, sessionIdOfHandle } from '../mobile/handles.js'
import { DPOP_ALGORITHMS, DpopError, type DpopVerifier } from '../mobile/dpop.js'
import type { JobClientConfig } from '../config/types.js'
import { jobTokenPrefix, type JobTokens } from '../jobs/job-tokens.js'
import { BffError, csrfFailed, invalidRequest, sessionExpired, unauthorized } from '../errors.js'
import { checkStoreAvailable } from './middleware/store-guard.js'
import { headerLineCount, headerLines } from './header-lines.js'
import type { SessionLifecycle } from './session-lifecycle.js'

/** A request authenticated as one user session, whichever transport carried it. */
export interface SessionCaller {
  kind: 'session'
  /** the cookie (ambient: the CSRF guard was checked) or a mobile handle (explicit: the DPoP proof was checked) */
  transport: 'cookie' | 'handle'
  sessionId: string
  session: BrokerSession
  /** the session's grant, already being read (in parallel with the session: one Redis round trip) */
  grant: Promise<Grant | undefined>
  /** epoch ms of the session's absolute timeout */
  expiresAt: number
}

/** A background job, authenticated by its job token (POST /bff/jobs/token). */
export interface JobCaller {
  kind: 'job'
  client: JobClientConfig
}

/** Who is calling. Routes, the proxy and the token manager see this, never cookies or Authorization headers. */
export type Caller = { kind: 'anonymous' } | SessionCaller | JobCaller

/**
 * How an ambient (cookie) credential is guarded against cross-site use: the `X-CSRF: 1` header (fetch/XHR), or a
 * same-origin `Origin` (WebSocket handshakes, which cannot carry a custom header).
 */
export type CookieGuard = 'csrf-header' | 'same-origin' | 'none'

export interface AuthenticateOptions {
  guard: CookieGuard
  /** false: only the guard runs, no session is read (anonymous routes that attach no user token) */
  loadSession?: boolean
}

export interface Authenticator {
  /**
   * The one authentication step. Throws 400 invalid_request (two Authorization headers), 403 csrf_failed (cookie
   * without its guard), 401 (a bad, unknown, revoked or expired handle, or a bad proof), 401 session_expired
   * (absolute timeout), 503 (store down). A request with no
   * credential, or a cookie that names no live session, is anonymous.
   */
  authenticate(req: IncomingMessage, opts: AuthenticateOptions): Promise<Caller>
}

export const anonymous: Caller = Object.freeze({ kind: 'anonymous' })

const dpopAlgs = DPOP_ALGORITHMS.join(' ')
const challenge = (scheme: 'DPoP' | 'Bearer', error: string) =>
  scheme === 'DPoP' ? `DPoP error="${error}", algs="${dpopAlgs}"` : `Bearer error="${error}"`
export const invalidToken = (scheme: 'DPoP' | 'Bearer', detail: string) =>
  unauthorized({ detail, wwwAuthenticate: challenge(scheme, 'invalid_token') })
/** An expired handle (RFC 6750 §3.1, RFC 9449 §7.1): session_expired, with the challenge of the handle's scheme. */
export const expiredHandle = (scheme: 'DPoP' | 'Bearer', err: BffError) =>
  sessionExpired({ detail: err.detail, cause: err, wwwAuthenticate: challenge(scheme, 'invalid_token') })
/** The scheme a mobile session's handle must be sent with. */
export const schemeOf = (session: Pick<BrokerSession, 'dpopJkt'>): 'DPoP' | 'Bearer' => (session.dpopJkt === undefined ? 'Bearer' : 'DPoP')
export const invalidDpopProof = (detail: string) =>
  new BffError(401, 'invalid_dpop_proof', { detail, wwwAuthenticate: challenge('DPoP', 'invalid_dpop_proof') })

/** `DPoP <handle>`, `Bearer bffm_…` or `Bearer bffj_…`: a broker credential. Anything else (a stray provider token) is not ours. */
function brokerCredential(header: string | undefined): { scheme: 'DPoP' | 'Bearer'; token: string } | undefined {
  if (!header) return undefined
  const space = header.indexOf(' ')
  if (space < 0) return undefined
  const scheme = header.slice(0, space).toLowerCase()
  const token = header.slice(space + 1).trim()
  if (scheme === 'dpop') return { scheme: 'DPoP', token }
  if (scheme === 'bearer' && (token.startsWith('bffm_') || token.startsWith(jobTokenPrefix))) return { scheme: 'Bearer', token }
  return undefined
}

/** The CSRF guard of an ambient (cookie) credential; the only copy of this check. */
export function checkCookieGuard(req: IncomingMessage, guard: CookieGuard, publicUrl: URL): void {
  if (guard === 'csrf-header' && req.headers['x-csrf'] !== '1') throw csrfFailed()
  if (guard === 'same-origin' && req.headers.origin !== publicUrl.origin && req.headers['sec-fetch-site'] !== 'same-origin') {
    throw csrfFailed({ detail: 'cross-origin WebSocket handshake' })
  }
}

const pathOf = (req: IncomingMessage) => {
  const target = (req as { originalUrl?: string }).originalUrl ?? req.url ?? '/'
  const q = target.indexOf('?')
  return q < 0 ? target : target.slice(0, q)
}

export function createAuthenticator(deps: {
  httpSession: HttpSession
  grants: GrantStore
  store: KeyValueStore
  timeouts: SessionTimeouts
  now: () => number
  publicUrl: URL
  dpop: DpopVerifier
  jobs: JobTokens
  /** a session past its absolute timeout is ended here (grant, index entries, record) */
  sessions: Pick<SessionLifecycle, 'end'>
}): Authenticator {
  // session id → grant id: immutable once set (login issues a new id), so the grant can be read in parallel with
  // the session. Only ids are cached: the session itself is read from the store on every request (revocation holds)
  const grantOf = new Map<string, string>()

  /** The session and its (known) grant: one Redis command when both live there, else the two reads side by side. */
  async function withGrant(id: string, grantId: string): Promise<{ session: BrokerSession | undefined; prefetched: Promise<Grant | undefined> }> {
    const both = deps.httpSession.loadWith(id, deps.grants.key(grantId))
    if (both) {
      const { session, value } = await both
      return { session, prefetched: Promise.resolve(deps.grants.open(grantId, value)) }
    }
    const prefetched = deps.grants.get(grantId)
    prefetched.catch(() => undefined) // awaited by the token manager, or dropped when the session is gone
    return { session: await deps.httpSession.load(id), prefetched }
  }

  async function load(id: string): Promise<Omit<SessionCaller, 'kind' | 'transport'> | undefined> {
    checkStoreAvailable(deps.store)
    const knownGrant = grantOf.get(id)
    const known = knownGrant ? await withGrant(id, knownGrant) : undefined
    const session = known ? known.session : await deps.httpSession.load(id)
    const prefetched = known?.prefetched
    if (!session) {
      grantOf.delete(id)
      return undefined
    }
    const expiresAt = absoluteDeadline(session, deps.timeouts)
    if (deps.now() > expiresAt) {
      await deps.sessions.end(id, session, { revoke: false, reason: 'absolute' })
      throw sessionExpired({ detail: 'absolute timeout' })
    }
    deps.httpSession.touch(id, session)
    if (knownGrant === session.grantId && prefetched) return { sessionId: id, session, grant: prefetched, expiresAt }
    if (grantOf.size >= 10_000) grantOf.clear()
    grantOf.set(id, session.grantId)
    return { sessionId: id, session, grant: deps.grants.get(session.grantId), expiresAt }
  }

  async function byHandle(req: IncomingMessage, scheme: 'DPoP' | 'Bearer', handle: string): Promise<Caller> {
    if (!isHandle(handle)) throw invalidToken(scheme, 'malformed handle')
    const proof = scheme === 'DPoP'
      ? deps.dpop.verify({ proof: headerLines(req, 'dpop'), method: req.method ?? 'GET', path: pathOf(req), accessToken: handle })
      : undefined
    const jktOf = proof?.then(
      (checked) => checked.jkt,
      (err: unknown) => {
        throw err instanceof DpopError ? invalidDpopProof(err.reason) : err
      },
    )
    jktOf?.catch(() => undefined) // awaited below, after the session read it runs beside
    let loaded: Awaited<ReturnType<typeof load>>
    try {
      loaded = await load(sessionIdOfHandle(handle))
    } catch (err) {
      throw err instanceof BffError && err.code === 'session_expired' ? expiredHandle(scheme, err) : err
    }
    const session = loaded?.session
    // a dead handle is invalid_token whatever its proof: a new proof would not revive it (RFC 9449 §7.1, RFC 6750 §3.1)
    if (!loaded || session?.kind !== 'mobile' || session.handoffUntil !== undefined) throw invalidToken(scheme, 'unknown handle')
    const jkt = await jktOf
    if (session.dpopJkt !== undefined) {
      // a DPoP-bound handle is useless without a fresh proof from its key (invariant 16)
      if (scheme !== 'DPoP') throw invalidToken('DPoP', 'DPoP-bound handle sent as Bearer')
      if (jkt !== session.dpopJkt) throw invalidDpopProof('proof from another key')
    } else if (scheme === 'DPoP') {
      throw invalidToken('Bearer', 'bearer handle sent with the DPoP scheme')
    }
    return { kind: 'session', transport: 'handle', ...loaded }
  }

  async function byJobToken(token: string): Promise<Caller> {
    checkStoreAvailable(deps.store)
    // an expired token stops at its expiry on every instance (job-tokens.ts remembers a token at most until then)
    const found = await deps.jobs.lookup(token)
    if (!found) throw invalidToken('Bearer', 'unknown or expired job token')
    return { kind: 'job', client: found.client }
  }

  return {
    async authenticate(req, opts) {
      // Node keeps only the first of two Authorization headers: which one the caller meant is unknowable (RFC 6750 §3.1)
      if (req.headers.authorization !== undefined && headerLineCount(req, 'authorization') > 1) {
        throw invalidRequest({ message: 'Send one Authorization header.', detail: 'repeated Authorization header' })
      }
      const credential = brokerCredential(req.headers.authorization)
      // an explicit credential is not ambient, so no CSRF guard applies to it
      if (credential?.token.startsWith(jobTokenPrefix)) return byJobToken(credential.token)
      if (credential) return byHandle(req, credential.scheme, credential.token)
      checkCookieGuard(req, opts.guard, deps.publicUrl)
      if (opts.loadSession === false) return anonymous
      const id = deps.httpSession.idFromCookie(req.headers.cookie)
      if (!id) return anonymous
      const loaded = await load(id)
      return loaded ? { kind: 'session', transport: 'cookie', ...loaded } : anonymous
    },
  }
}

const callers = new WeakMap<IncomingMessage, Caller>()

/** The caller the authentication step found for this request (anonymous when it did not run). */
export const callerOf = (req: IncomingMessage): Caller => callers.get(req) ?? anonymous

/** The authentication step as express middleware; `require: true` answers 401 without a session. */
export function authenticated(auth: Authenticator, opts: AuthenticateOptions & { require: boolean }): RequestHandler {
  return (req, _res, next) => {
    auth.authenticate(req, opts).then((caller) => {
      if (opts.require && caller.kind !== 'session') return next(unauthorized())
      callers.set(req, caller)
      next()
    }, next)
  }
}
