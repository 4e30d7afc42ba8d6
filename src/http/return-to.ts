/**
 * Open-redirect guard (docs/architecture.md invariant 5). A target is accepted when it is a same-origin relative
 * path (one
 * leading `/`, not `//` or `/\`) or an absolute URL on an allowed origin. The value is resolved with the WHATWG URL
 * parser exactly as a browser would resolve the Location header, and the resolved origin must be allowed; what we
 * redirect to is the normalised form of that resolution, never the raw input.
 */
export function safeReturnTo(
  value: unknown,
  publicUrl: URL,
  allowedOrigins: readonly string[] = [],
): string | undefined {
  if (value === undefined) return '/'
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) return undefined
  // browsers drop tabs and newlines and read `\` as `/`: refuse all of them (and other controls) up front
  if (/[\u0000-\u001f\u007f\\]/.test(value)) return undefined
  let resolved: URL
  try {
    resolved = new URL(value, publicUrl)
  } catch {
    return undefined
  }
  if (resolved.username || resolved.password) return undefined
  if (value.startsWith('/')) {
    if (value.startsWith('//')) return undefined
    if (resolved.origin !== publicUrl.origin) return undefined
    return `${resolved.pathname}${resolved.search}${resolved.hash}`
  }
  // anything not starting with `/` must be an absolute http(s) URL on an allowed origin
  if (!/^https?:\/\//i.test(value)) return undefined
  if (resolved.origin === publicUrl.origin || allowedOrigins.includes(resolved.origin)) return resolved.href
  return undefined
}
