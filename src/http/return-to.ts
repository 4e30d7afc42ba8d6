const maxLength = 2048

/**
 * Open-redirect guard (docs/architecture.md invariant 5). A target is accepted when it is a same-origin relative path (one leading `/`,
 * not `//` or `/\`) or an absolute URL on an allowed origin. The checks run on the value the browser will act on:
 * the input resolved with the WHATWG URL parser against publicUrl (dot-segments removed, `%2e` read as `.`), and
 * what is returned, and later redirected to, is exactly that normalised value, never the raw input.
 */
export function safeReturnTo(
  value: unknown,
  publicUrl: URL,
  allowedOrigins: readonly string[] = [],
): string | undefined {
  if (value === undefined) return '/'
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) return undefined
  // browsers drop tabs and newlines and read `\` as `/`: refuse all of them (and other controls) up front
  if (/[\u0000-\u001f\u007f\\]/.test(value)) return undefined
  const relative = value.startsWith('/')
  // anything not starting with one `/` must be an absolute http(s) URL
  if (relative ? value.startsWith('//') : !/^https?:\/\//i.test(value)) return undefined
  const resolved = parse(value, publicUrl)
  if (!resolved || resolved.username || resolved.password) return undefined
  const sameOrigin = resolved.origin === publicUrl.origin
  if (!sameOrigin && (relative || !allowedOrigins.includes(resolved.origin))) return undefined
  // `/.//evil.example` normalises to the path `//evil.example`, which a browser reads as a network-path reference
  // to another host (RFC 3986 §4.2): no normalised path may start with `//`
  if (resolved.pathname.startsWith('//')) return undefined
  const target = relative ? `${resolved.pathname}${resolved.search}${resolved.hash}` : resolved.href
  // the handed-out value must resolve back to exactly the URL that was checked
  if (target.length > maxLength || parse(target, publicUrl)?.href !== resolved.href) return undefined
  return target
}

function parse(value: string, base: URL): URL | undefined {
  try {
    return new URL(value, base)
  } catch {
    return undefined
  }
}
