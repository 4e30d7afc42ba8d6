/**
 * Expiry math for access tokens (docs/config-reference.md `tokens.refreshSkewSeconds`). Times follow the token
 * response: `expiresAt`
 * in epoch seconds (as in TokenSet), `nowMs` in epoch milliseconds.
 */

/** The skew actually applied: never more than half the token's lifetime, or a short-lived token is never fresh. */
export function effectiveSkewSeconds(skewSeconds: number, lifetimeSeconds?: number): number {
  if (lifetimeSeconds === undefined || !(lifetimeSeconds > 0)) return skewSeconds
  return Math.min(skewSeconds, lifetimeSeconds / 2)
}

/**
 * True when less than the skew remains before `expiresAt`. A token without an expiry is treated as valid: RFC 6749
 * §5.1 makes `expires_in` only RECOMMENDED, and the upstream's 401 is then the only signal. `jitter` (a fraction in
 * [0, 1), see refreshJitter) shortens the configured skew, before the cap at half the lifetime.
 */
export function needsRefresh(
  expiresAtSeconds: number | undefined,
  nowMs: number,
  skewSeconds: number,
  lifetimeSeconds?: number,
  jitter = 0,
): boolean {
  if (expiresAtSeconds === undefined) return false
  const leftMs = expiresAtSeconds * 1000 - nowMs
  return leftMs < effectiveSkewSeconds(skewSeconds * (1 - jitter), lifetimeSeconds) * 1000
}

/**
 * A fraction in [0, 0.5) fixed per grant (FNV-1a of its id): the grant refreshes when between the whole and half the
 * skew remains, so the sessions of a crowd that logged in at the same minute do not all refresh in the same second.
 * Deterministic, so every instance and every check under the lock reach the same verdict for one grant.
 */
export function refreshJitter(id: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193)
  return (hash >>> 0) / 2 ** 33
}

/** True once the token can no longer be used at all (inside the skew it is stale but still valid). */
export function isExpired(expiresAtSeconds: number | undefined, nowMs: number): boolean {
  return expiresAtSeconds !== undefined && expiresAtSeconds * 1000 <= nowMs
}
