/** What a browser session holds: who the user is and a reference to a grant. Nothing in it is a token. */
export interface BrokerSession {
  sub: string
  /** user claims for /bff/user (protocol claims removed) */
  claims: Record<string, unknown>
  grantId: string
  /** opaque per-session value for the logout URL; never the cookie value */
  logoutSid: string
  /** the provider's `sid` claim, for back-channel logout */
  providerSid?: string
  /**
   * the ID token's own `sub`, which a back-channel logout token names (OIDC Back-Channel Logout 1.0 §2.4); it
   * differs from `sub` when provider.subjectClaim picks another field. Absent without an ID token.
   */
  providerSub?: string
  /** epoch ms */
  createdAt: number
  /** the opaque id the session administration API shows (never the cookie value, the handle or a Redis key) */
  publicId?: string
  /** the User-Agent at login, shown in the session list (truncated) */
  userAgent?: string
  /** 'mobile' for a session held through a handle (mobile.apps[]); absent for a browser (cookie) session */
  kind?: 'mobile'
  /** mobile: the app's client id at the broker */
  clientId?: string
  /** mobile: RFC 7638 thumbprint of the key the handle is bound to (DPoP apps, RFC 9449) */
  dpopJkt?: string
  /** mobile: epoch ms until which the handoff code may be redeemed; until it is, the record lives no longer */
  handoffUntil?: number
}

export interface Timeouts {
  idleTimeoutSeconds: number
  absoluteTimeoutSeconds: number
}

/** The timeouts of each kind of session: the browser's (session.*) and the mobile ones (mobile.*). */
export interface SessionTimeouts {
  browser: Timeouts
  mobile: Timeouts
}

export const timeoutsOf = (session: Pick<BrokerSession, 'kind'> | undefined, all: SessionTimeouts): Timeouts =>
  session?.kind === 'mobile' ? all.mobile : all.browser

/** Epoch ms after which the session is over whatever happens (its absolute timeout). */
export const absoluteDeadline = (session: Pick<BrokerSession, 'kind' | 'createdAt'>, all: SessionTimeouts): number =>
  session.createdAt + timeoutsOf(session, all).absoluteTimeoutSeconds * 1000

declare module 'express-session' {
  interface SessionData {
    broker: BrokerSession
  }
}

/** Protocol claims of an ID token that say nothing about the user. */
const protocolClaims = new Set([
  'iss', 'aud', 'exp', 'iat', 'nbf', 'nonce', 'at_hash', 'c_hash', 's_hash', 'azp', 'jti', 'sid', 'auth_time', 'acr', 'amr',
])

export function userClaims(...sources: Array<Readonly<Record<string, unknown>> | undefined>): Record<string, unknown> {
  const claims: Record<string, unknown> = {}
  for (const source of sources) {
    if (!source) continue
    for (const [k, v] of Object.entries(source)) {
      if (!protocolClaims.has(k) && !(k in claims)) claims[k] = v
    }
  }
  return claims
}

/** Reads a (possibly dotted) field such as `sub`, `userId` or `data.id`; numbers become strings. */
export function readSubject(source: Readonly<Record<string, unknown>> | undefined, path: string): string | undefined {
  let value: unknown = source
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined
    value = (value as Record<string, unknown>)[part]
  }
  if (typeof value === 'string' && value.length > 0) return value
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  return undefined
}

/** Epoch seconds at which the session ends if nothing else happens: the earlier of idle and absolute timeouts. */
export function sessionExpiresAt(
  session: Pick<BrokerSession, 'createdAt'>,
  lastSeenMs: number,
  timeouts: Timeouts,
): number {
  const absolute = session.createdAt + timeouts.absoluteTimeoutSeconds * 1000
  const idle = lastSeenMs + timeouts.idleTimeoutSeconds * 1000
  return Math.floor(Math.min(absolute, idle) / 1000)
}

/** Remaining lifetime of a session record in seconds (the Redis TTL), never beyond the absolute timeout. */
export function sessionTtlSeconds(createdAt: number | undefined, nowMs: number, timeouts: Timeouts): number {
  if (createdAt === undefined) return timeouts.idleTimeoutSeconds
  const left = Math.floor((createdAt + timeouts.absoluteTimeoutSeconds * 1000 - nowMs) / 1000)
  return Math.min(timeouts.idleTimeoutSeconds, left)
}

/** The Redis TTL of a session record: its kind's timeouts, and no longer than its unredeemed handoff code. */
export function recordTtlSeconds(session: BrokerSession | undefined, nowMs: number, all: SessionTimeouts): number {
  const ttl = sessionTtlSeconds(session?.createdAt, nowMs, timeoutsOf(session, all))
  if (session?.handoffUntil === undefined) return ttl
  return Math.min(ttl, Math.ceil((session.handoffUntil - nowMs) / 1000))
}
