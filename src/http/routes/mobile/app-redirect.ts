/**
 * The redirect back to a mobile app: its registered redirect_uri with the answer's parameters, and `iss` naming the
 * broker (RFC 9207), so the app can tell our answer from a mix-up. The registered URI's own query is kept as
 * registered (RFC 6749 §3.1.2) and the answer appended to it, never re-encoded.
 */
export function appRedirect(redirectUri: string, publicUrl: URL, params: Record<string, string | undefined>): string {
  const answer = new URLSearchParams()
  for (const [name, value] of Object.entries(params)) if (value !== undefined) answer.set(name, value)
  answer.set('iss', publicUrl.origin)
  const url = new URL(redirectUri)
  url.search = url.search.length > 1 ? `${url.search}&${answer}` : `?${answer}`
  return url.href
}
