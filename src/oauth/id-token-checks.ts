/** openid-client's own clock tolerance for exp/nbf (oauth4webapi's default), reused for iat so both agree. */
export const clockToleranceSeconds = 30

/**
 * OIDC Core §3.1.3.7 step 10: "The iat Claim can be used to reject tokens that were issued too far away from the
 * current time". openid-client checks that iat is a number, not how old it is: an ID token minted long ago and
 * replayed from a leaked token response would otherwise pass while its exp lasts. Returns the problem, if any.
 */
export function issuedAtProblem(
  claims: Readonly<Record<string, unknown>> | undefined,
  nowSeconds: number,
  maxAgeSeconds: number,
): string | undefined {
  const iat = claims?.iat
  if (typeof iat !== 'number' || !Number.isFinite(iat)) return 'ID token has no numeric iat'
  if (iat > nowSeconds + clockToleranceSeconds) return `ID token iat is ${iat - nowSeconds} s in the future`
  if (nowSeconds - iat > maxAgeSeconds) return `ID token was issued ${nowSeconds - iat} s ago (limit ${maxAgeSeconds} s)`
  return undefined
}

/** A coded error that oauth/errors.ts classifies like openid-client's own claim checks (check_failed). */
export const idTokenCheckFailed = (problem: string) =>
  Object.assign(new Error(problem), { code: 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED' })
