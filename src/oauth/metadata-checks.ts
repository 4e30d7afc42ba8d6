/** What the start-up checks read of the discovered metadata (RFC 8414 §2 names). */
export interface CheckedMetadata {
  code_challenge_methods_supported?: unknown
}

/**
 * Problems that no retry can fix, so the broker refuses the provider instead of backing off forever:
 * - RFC 9700 §2.1.1: the client MUST use PKCE with S256; a provider that lists its methods without S256
 *   would downgrade or refuse every login (RFC 8414 §2: an absent list says nothing, so it is accepted).
 */
export function metadataProblem(metadata: CheckedMetadata, opts: { pkce: boolean }): string | undefined {
  const methods = metadata.code_challenge_methods_supported
  if (opts.pkce && Array.isArray(methods) && !methods.includes('S256')) {
    return `code_challenge_methods_supported is ${JSON.stringify(methods)}, without S256 (RFC 9700 §2.1.1)`
  }
  return undefined
}

/** Skews past this are logged: beyond the 30 s tolerance of the ID token checks, logins start failing. */
export const clockSkewWarnSeconds = 30

/**
 * The provider's clock minus ours, in whole seconds, from an HTTP `Date` header (RFC 9110 §6.6.1, 1 s resolution);
 * undefined when there is none or it does not parse.
 */
export function clockSkewSeconds(dateHeader: string | null, nowMs: number): number | undefined {
  if (!dateHeader) return undefined
  const providerMs = Date.parse(dateHeader)
  if (Number.isNaN(providerMs)) return undefined
  return Math.round((providerMs - nowMs) / 1000)
}
