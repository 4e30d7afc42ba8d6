/**
 * RFC 9449 §4.3 check 9: htu matches the request URI without query and fragment, after the syntax- and scheme-based
 * normalisation of RFC 3986 §6.2.2 and §6.2.3 (the WHATWG parser lowercases scheme and host, drops the default port and
 * resolves dot-segments; percent-encoding hex digits are uppercased here).
 */
export function normalizeHtu(value: string): string | undefined {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return undefined
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined
  url.search = ''
  url.hash = ''
  return url.href.replace(/%[0-9a-f]{2}/gi, (escape) => escape.toUpperCase())
}

export function sameHtu(htu: unknown, origin: string, path: string): boolean {
  // a path that does not start with '/' could move the host ('@evil.example/'): never a match
  if (typeof htu !== 'string' || !path.startsWith('/')) return false
  const expected = `${origin}${path}`
  // the usual proof names the URL exactly as the broker sees it (origin and path as received): equal strings
  // normalise alike, so no parse is needed
  if (htu === expected) return true
  const actual = normalizeHtu(htu)
  return actual !== undefined && actual === normalizeHtu(expected)
}
