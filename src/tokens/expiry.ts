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
 * §5.1 makes `expires_in` only RECOMMENDED, and the upstream's 401 is then the only signal.
 */
export function needsRefresh(
  expiresAtSeconds: number | undefined,
  nowMs: number,
  skewSeconds: number,
  lifetimeSeconds?: number,
): boolean {
  if (expiresAtSeconds === undefined) return false
  const leftMs = expiresAtSeconds * 1000 - nowMs
  return leftMs < effectiveSkewSeconds(skewSeconds, lifetimeSeconds) * 1000
}

/** True once the token can no longer be used at all (inside the skew it is stale but still valid). */
export function isExpired(expiresAtSeconds: number | undefined, nowMs: number): boolean {
  return expiresAtSeconds !== undefined && expiresAtSeconds * 1000 <= nowMs
}
