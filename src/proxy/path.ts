import { invalidRequest } from '../errors.js'

/**
 * Checks of the raw request target before it is mapped onto an upstream (docs/architecture.md invariant 13).
 *
 * Upstreams decode and normalise paths in their own ways (WHATWG URL turns `%2e%2e` into `..`, Tomcat treats
 * `..;` as `..`, some servers decode twice or accept `\` as `/`), so the broker refuses every spelling that
 * could climb out of the route's target instead of trying to normalise it the same way each of them would.
 */

// A path is decoded at most this many times while looking for hidden encodings (%25252e has three levels)
const maxDecodeLevels = 8

const controlChar = /[\u0000-\u001f\u007f]/
const encodedSeparatorOrDot = /%(2f|5c|2e)/i
const encodedControl = /%(0[0-9a-f]|1[0-9a-f]|7f)/i
const malformedPercent = /%(?![0-9a-f]{2})/i
// unreserved characters and '/' only (RFC 3986 §2.3): nothing to decode or normalise, so only the dot-segments are left
const plainPath = /^[A-Za-z0-9\-._~/]*$/

export interface RawTarget {
  /** the path part, still percent-encoded exactly as the client sent it */
  path: string
  /** `?…` or '' */
  query: string
}

export function splitRawTarget(rawTarget: string): RawTarget {
  const q = rawTarget.indexOf('?')
  return q === -1
    ? { path: rawTarget, query: '' }
    : { path: rawTarget.slice(0, q), query: rawTarget.slice(q) }
}

function refuse(detail: string): never {
  throw invalidRequest({ message: 'The request path is not allowed.', detail })
}

/** A segment that any upstream could read as `.` or `..` (also `..;jsessionid`, Tomcat-style). */
function isDotSegment(segment: string): boolean {
  const bare = segment.split(';', 1)[0] ?? ''
  return bare === '.' || bare === '..'
}

function checkLevel(path: string): void {
  if (controlChar.test(path)) refuse('control character in path')
  if (path.includes('\\')) refuse('backslash in path')
  if (encodedSeparatorOrDot.test(path)) refuse('encoded separator or dot in path')
  if (encodedControl.test(path)) refuse('encoded control character in path')
  if (path.split('/').some(isDotSegment)) refuse('dot-segment in path')
}

/**
 * Throws `invalidRequest` (400) unless `path` (the raw, undecoded path of the request target, without query) is an
 * origin-form path free of dot-segments, encoded `/` `\` `.` at any decoding depth, backslashes, control
 * characters, empty segments and invalid UTF-8.
 */
export function assertSafePath(path: string): void {
  if (!path.startsWith('/')) refuse('request target is not origin-form')
  // an empty segment ('//') would make '/v1' + '//host/x' look like a network-path reference to a lax upstream
  if (path.includes('//')) refuse('empty segment in path')
  // the usual API path: the checks below would all pass but the dot-segment one
  if (plainPath.test(path)) {
    // a dot-segment starts right after a '/' (the path starts with one): without '/.' there is none to look for
    if (path.includes('/.') && path.split('/').some(isDotSegment)) refuse('dot-segment in path')
    return
  }
  // only checked on the raw form: a literal '%' sent as %25 is fine, it merely looks malformed one level down
  if (malformedPercent.test(path)) refuse('malformed percent-encoding in path')
  let level = path
  for (let i = 0; i < maxDecodeLevels; i++) {
    checkLevel(level)
    // decode every escape, not only %25: %25%32%65 is %2e one level down
    const next = level.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    if (next === level) break
    if (i === maxDecodeLevels - 1) refuse('too many encoding levels')
    level = next
  }
  let decoded: string
  try {
    decoded = decodeURIComponent(path)
  } catch {
    // invalid UTF-8, e.g. the overlong %c0%ae that old servers decoded to '.'
    refuse('path is not valid percent-encoded UTF-8')
  }
  // fullwidth '．' / '／' and friends become '.' and '/' under NFKC, which some upstreams apply
  const folded = decoded.normalize('NFKC')
  if (folded !== decoded && (folded.includes('\\') || folded.split('/').some(isDotSegment))) {
    refuse('path normalises to a dot-segment or backslash')
  }
  if (folded.split('/').length !== decoded.split('/').length) refuse('path normalises to extra separators')
}

/**
 * `rest` is what follows the route prefix ('' or starting with '/'); the result lies under the target's path.
 * The target's own query, if any, is ignored: routes map paths, the client's query is forwarded as sent.
 */
export function joinUnderTarget(target: URL, rest: string, query: string): string {
  const base = target.pathname.replace(/\/+$/, '')
  const path = base + rest
  return (path === '' ? '/' : path) + query
}
