import { z } from 'zod'

/**
 * String fields with a format. They stay strings in the schema (so the docs show the file's shape) and
 * `load.ts` turns the URL ones into `URL` objects. Messages never echo the value: it may hold a secret.
 */

function parseUrl(value: string): URL | undefined {
  return URL.canParse(value) ? new URL(value) : undefined
}

const isHttp = (url: URL): boolean => url.protocol === 'http:' || url.protocol === 'https:'

/** An http(s) URL without query, fragment or credentials (an endpoint or an upstream base). */
export const httpUrl = z.string().superRefine((value, ctx) => {
  const url = parseUrl(value)
  if (url === undefined || !isHttp(url)) {
    ctx.addIssue({ code: 'custom', message: 'must be an http(s) URL' })
  } else if (url.search !== '' || url.hash !== '' || value.includes('#') || value.endsWith('?')) {
    ctx.addIssue({ code: 'custom', message: 'must not carry a query or fragment' })
  } else if (url.username !== '' || url.password !== '') {
    ctx.addIssue({ code: 'custom', message: 'must not carry credentials' })
  }
})

/**
 * An endpoint URL: http(s), no fragment or credentials, but it may carry a query (RFC 6749 §3.1: "The endpoint URI
 * MAY include an application/x-www-form-urlencoded formatted query component, which MUST be retained when adding
 * additional query parameters").
 */
export const endpointUrl = z.string().superRefine((value, ctx) => {
  const url = parseUrl(value)
  if (url === undefined || !isHttp(url)) {
    ctx.addIssue({ code: 'custom', message: 'must be an http(s) URL' })
  } else if (url.hash !== '' || value.includes('#')) {
    ctx.addIssue({ code: 'custom', message: 'must not carry a fragment (RFC 6749 §3.1)' })
  } else if (url.username !== '' || url.password !== '') {
    ctx.addIssue({ code: 'custom', message: 'must not carry credentials' })
  }
})

/** An http(s) origin: scheme, host and port only (a trailing `/` is tolerated). */
export const origin = z.string().superRefine((value, ctx) => {
  const url = parseUrl(value)
  if (url === undefined || !isHttp(url)) {
    ctx.addIssue({ code: 'custom', message: 'must be an http(s) origin such as https://app.example.com' })
  } else if (url.href !== `${url.origin}/` || value.includes('?') || value.includes('#')) {
    ctx.addIssue({ code: 'custom', message: 'must be an origin only (no path, query, fragment or credentials)' })
  }
})

/** A redis:// or rediss:// URL (it may carry a password, so it is never printed). */
export const redisUrl = z.string().superRefine((value, ctx) => {
  const url = parseUrl(value)
  if (url === undefined || (url.protocol !== 'redis:' && url.protocol !== 'rediss:') || url.hostname === '') {
    ctx.addIssue({ code: 'custom', message: 'must be a redis:// or rediss:// URL' })
  }
})

/** An absolute URI without fragment (RFC 8707 §2 resource indicator). */
export const absoluteUri = z.string().superRefine((value, ctx) => {
  if (parseUrl(value) === undefined || value.includes('#')) {
    ctx.addIssue({ code: 'custom', message: 'must be an absolute URI without fragment' })
  }
})

/**
 * A path prefix: `/` then segments, no trailing slash, no dot segments, query or encoded characters, so that
 * prefix matching on the raw request path means what it says.
 */
export const pathPrefix = z.string().regex(
  /^(\/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+$/,
  'must start with / and have no trailing slash (letters, digits, - _ . ~ per segment)',
)

/** RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`. */
export const scopeToken = z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'must be a scope token (no spaces)')

/** A job client id: a safe token (letters, digits, `.` `_` `-`), so it needs no escaping in logs, keys or Basic auth. */
export const jobClientIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
export const jobClientId = z.string().regex(jobClientIdPattern, 'must be 1 to 64 letters, digits, . _ or - (starting with a letter or digit)')

/** The SHA-256 of a job secret as `npm run job:secret` prints it; anything else (the secret itself, upper case) is refused. */
export const secretHash = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be "sha256:" followed by 64 lowercase hex digits (npm run job:secret)')

/** One header line's value: printable ASCII, so a config value cannot split or add a header (RFC 9110 §5.5). */
export const headerValue = z.string().regex(/^[\x20-\x7E]+$/, 'must be one line of printable ASCII (a header value)')
