/**
 * The redirect back to a mobile app: its registered redirect_uri (its own query kept) with the answer's parameters,
 * and `iss` naming the broker (RFC 9207), so the app can tell our answer from a mix-up.
 */
export function appRedirect(redirectUri: string, publicUrl: URL, params: Record<string, string | undefined>): string {
  const url = new URL(redirectUri)
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value)
  url.searchParams.set('iss', publicUrl.origin)
  return url.href
}
