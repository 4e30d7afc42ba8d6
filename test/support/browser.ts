import { Agent, request } from 'undici'

// A tiny browser for HTTP tests: a cookie jar, manual redirects and navigation headers.
// undici's request rather than fetch: fetch always sends Sec-Fetch-Mode: cors, so every call
// would look like XHR to a server that tells navigations apart
// (docs/architecture.md "Dependency notes").
//
// Simplifications, on purpose: cookies are host-only and keyed by host:port (Domain is kept
// for assertions but not used for matching); Secure and SameSite are recorded, not enforced
// (every test server is loopback, one "site" whatever the port).

export type SecFetchSite = 'none' | 'same-origin' | 'same-site' | 'cross-site'

export interface RequestOptions {
  method?: string
  headers?: Record<string, string>
  body?: string
  /** fetch-like call: Accept: application/json and no navigation headers */
  xhr?: boolean
  /** Sec-Fetch-Site of a navigation; default 'none' (typed into the address bar) */
  site?: SecFetchSite
}

export interface BrowserResponse {
  url: string
  status: number
  headers: Record<string, string | string[]>
  body: string
  /** the Location header resolved against the request URL */
  location?: string
}

export interface StoredCookie {
  name: string
  value: string
  path: string
  domain?: string
  expires?: Date
  maxAge?: number
  httpOnly: boolean
  secure: boolean
  sameSite?: string
  /** the Set-Cookie line as received */
  raw: string
}

export interface Browser {
  request(url: string | URL, options?: RequestOptions): Promise<BrowserResponse>
  get(url: string | URL, options?: Omit<RequestOptions, 'method' | 'body'>): Promise<BrowserResponse>
  postForm(url: string | URL, fields: Record<string, string>, options?: Omit<RequestOptions, 'method' | 'body'>): Promise<BrowserResponse>
  /** GETs and follows redirects (each hop a GET), returning every response, the last one final */
  follow(url: string | URL, options?: Omit<RequestOptions, 'method' | 'body'> & { maxRedirects?: number }): Promise<BrowserResponse[]>
  cookie(origin: string | URL, name: string): string | undefined
  cookies(origin: string | URL): StoredCookie[]
  /** stores a cookie as if `origin` had sent this Set-Cookie line (e.g. a forged session id) */
  setCookie(origin: string | URL, setCookie: string): void
  clearCookies(): void
  close(): Promise<void>
}

export function createBrowser(): Browser {
  const jar = new Map<string, StoredCookie[]>()
  const agent = new Agent({ keepAliveTimeout: 1000, headersTimeout: 15_000, bodyTimeout: 15_000 })

  const browser: Browser = {
    async request(url, options = {}) {
      const target = new URL(url)
      const method = options.method ?? 'GET'
      const headers: Record<string, string> = { ...defaultHeaders(options, method, target), ...options.headers }
      const cookieHeader = cookiesFor(jar, target)
        .map((c) => `${c.name}=${c.value}`)
        .join('; ')
      if (cookieHeader && !hasHeader(headers, 'cookie')) headers.cookie = cookieHeader

      const res = await request(target, { method: method as 'GET', headers, body: options.body, dispatcher: agent })
      const body = await res.body.text()
      const flat = flattenHeaders(res.headers)
      store(jar, target, flat['set-cookie'])
      const location = typeof flat.location === 'string' ? new URL(flat.location, target).href : undefined
      return { url: target.href, status: res.statusCode, headers: flat, body, ...(location ? { location } : {}) }
    },

    get: (url, options = {}) => browser.request(url, { ...options, method: 'GET' }),

    postForm: (url, fields, options = {}) =>
      browser.request(url, {
        ...options,
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...options.headers },
        body: new URLSearchParams(fields).toString(),
      }),

    async follow(url, options = {}) {
      const { maxRedirects = 10, ...rest } = options
      const hops: BrowserResponse[] = []
      let next = new URL(url)
      let site = rest.site
      for (;;) {
        const res = await browser.request(next, { ...rest, method: 'GET', ...(site ? { site } : {}) })
        hops.push(res)
        if (res.status < 300 || res.status >= 400 || !res.location) return hops
        if (hops.length > maxRedirects) throw new Error(`more than ${maxRedirects} redirects from ${String(url)}`)
        const from = next
        next = new URL(res.location)
        site = rest.site ?? relation(from, next)
      }
    },

    cookie: (origin, name) => (jar.get(hostOf(origin)) ?? []).find((c) => c.name === name && alive(c))?.value,
    cookies: (origin) => (jar.get(hostOf(origin)) ?? []).filter(alive).map((c) => ({ ...c })),
    setCookie: (origin, line) => store(jar, new URL(typeof origin === 'string' && !origin.includes('://') ? `http://${origin}` : origin), line),
    clearCookies: () => jar.clear(),
    close: () => agent.close(),
  }
  return browser
}

function defaultHeaders(options: RequestOptions, method: string, target: URL): Record<string, string> {
  if (options.xhr) return { accept: 'application/json' }
  const headers: Record<string, string> = {
    accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    'sec-fetch-mode': 'navigate',
    'sec-fetch-dest': 'document',
    'sec-fetch-site': options.site ?? (method === 'GET' ? 'none' : 'same-origin'),
    'user-agent': 'bff-broker-test-browser',
  }
  // Browsers send Origin on a form POST; our forms are submitted to their own origin.
  if (method !== 'GET' && method !== 'HEAD') headers.origin = target.origin
  return headers
}

function relation(from: URL, to: URL): SecFetchSite {
  if (from.origin === to.origin) return 'same-origin'
  return from.protocol === to.protocol && from.hostname === to.hostname ? 'same-site' : 'cross-site'
}

function hostOf(origin: string | URL): string {
  if (origin instanceof URL) return origin.host
  return origin.includes('://') ? new URL(origin).host : origin
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((key) => key.toLowerCase() === name)
}

function flattenHeaders(raw: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [key, value] of Object.entries(raw)) if (value !== undefined) out[key.toLowerCase()] = value
  return out
}

function alive(cookie: StoredCookie): boolean {
  return !cookie.expires || cookie.expires.getTime() > Date.now()
}

function cookiesFor(jar: Map<string, StoredCookie[]>, target: URL): StoredCookie[] {
  return (jar.get(target.host) ?? []).filter((c) => alive(c) && pathMatches(target.pathname, c.path))
}

// RFC 6265 §5.1.4
function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true
  if (!requestPath.startsWith(cookiePath)) return false
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/'
}

function store(jar: Map<string, StoredCookie[]>, origin: URL, setCookie: string | string[] | undefined): void {
  if (setCookie === undefined) return
  const lines = Array.isArray(setCookie) ? setCookie : [setCookie]
  const kept = jar.get(origin.host) ?? []
  for (const line of lines) {
    const cookie = parseSetCookie(line, origin)
    if (!cookie) continue
    const rest = kept.filter((c) => !(c.name === cookie.name && c.path === cookie.path))
    // Max-Age<=0 or an Expires in the past is how a server deletes a cookie.
    kept.splice(0, kept.length, ...rest, ...(alive(cookie) ? [cookie] : []))
  }
  jar.set(origin.host, kept)
}

export function parseSetCookie(line: string, origin: URL): StoredCookie | undefined {
  const [pair = '', ...attributes] = line.split(';')
  const eq = pair.indexOf('=')
  if (eq <= 0) return undefined
  const cookie: StoredCookie = {
    name: pair.slice(0, eq).trim(),
    value: pair.slice(eq + 1).trim(),
    path: defaultPath(origin.pathname),
    httpOnly: false,
    secure: false,
    raw: line,
  }
  let maxAge: number | undefined
  for (const attribute of attributes) {
    const [rawKey = '', ...valueParts] = attribute.split('=')
    const key = rawKey.trim().toLowerCase()
    const value = valueParts.join('=').trim()
    if (key === 'path' && value.startsWith('/')) cookie.path = value
    else if (key === 'domain' && value) cookie.domain = value
    else if (key === 'expires' && !Number.isNaN(Date.parse(value))) cookie.expires = new Date(value)
    else if (key === 'max-age' && /^-?\d+$/.test(value)) maxAge = Number(value)
    else if (key === 'httponly') cookie.httpOnly = true
    else if (key === 'secure') cookie.secure = true
    else if (key === 'samesite') cookie.sameSite = value
  }
  // Max-Age wins over Expires (RFC 6265 §5.3 step 3).
  if (maxAge !== undefined) {
    cookie.maxAge = maxAge
    cookie.expires = new Date(maxAge <= 0 ? 0 : Date.now() + maxAge * 1000)
  }
  return cookie
}

function defaultPath(pathname: string): string {
  const slash = pathname.lastIndexOf('/')
  return slash <= 0 ? '/' : pathname.slice(0, slash)
}

export interface ProviderLogin {
  login: string
  password: string
}

/**
 * Walks oidc-provider's dev login and consent forms from the authorization URL, as a user
 * would, and returns the redirect back to the client (redirect_uri with code, state, iss)
 * without following it. A refused login throws.
 */
export async function completeProviderLogin(
  browser: Browser,
  authorizationUrl: string | URL,
  credentials: ProviderLogin = { login: 'alice', password: 'alice' },
): Promise<string> {
  const providerOrigin = new URL(authorizationUrl).origin
  const fields = (prompt: string | undefined): Record<string, string> =>
    prompt === 'login' ? { login: credentials.login, password: credentials.password } : {}
  return walkProviderPages(browser, authorizationUrl, providerOrigin, fields)
}

/**
 * Confirms oidc-provider's RP-Initiated Logout page ("Yes, sign me out") and returns the
 * redirect to the post_logout_redirect_uri (or the provider's own success page URL).
 */
export async function completeProviderLogout(browser: Browser, endSessionUrl: string | URL): Promise<string> {
  const providerOrigin = new URL(endSessionUrl).origin
  return walkProviderPages(browser, endSessionUrl, providerOrigin, () => ({ logout: 'yes' }), true)
}

async function walkProviderPages(
  browser: Browser,
  start: string | URL,
  providerOrigin: string,
  extraFields: (prompt: string | undefined) => Record<string, string>,
  stopOnSuccessPage = false,
): Promise<string> {
  let res = await browser.get(start, { site: 'cross-site' })
  for (let step = 0; step < 12; step++) {
    if (res.location) {
      if (new URL(res.location).origin !== providerOrigin) return res.location
      if (stopOnSuccessPage && res.location.includes('/session/end/success')) return res.location
      res = await browser.get(res.location, { site: 'same-origin' })
      continue
    }
    const form = res.status === 200 ? parseForm(res.body, res.url) : undefined
    if (!form) {
      throw new Error(`provider page ${res.url} answered ${res.status} without a form: ${res.body.slice(0, 500)}`)
    }
    res = await browser.postForm(form.action, { ...form.fields, ...extraFields(form.fields.prompt) }, { site: 'same-origin' })
    if (res.status === 401) throw new Error(`provider refused the login: ${res.body.slice(0, 200)}`)
  }
  throw new Error(`no redirect back to the client after 12 provider pages from ${String(start)}`)
}

function parseForm(html: string, pageUrl: string): { action: string; fields: Record<string, string> } | undefined {
  const form = /<form\b([^>]*)>([\s\S]*?)<\/form>/i.exec(html)
  if (!form) return undefined
  const action = attribute(form[1] ?? '', 'action')
  const fields: Record<string, string> = {}
  for (const input of (form[2] ?? '').matchAll(/<input\b([^>]*)>/gi)) {
    const attrs = input[1] ?? ''
    const name = attribute(attrs, 'name')
    if (attribute(attrs, 'type') === 'hidden' && name) fields[name] = attribute(attrs, 'value') ?? ''
  }
  return { action: new URL(action ?? pageUrl, pageUrl).href, fields }
}

function attribute(attrs: string, name: string): string | undefined {
  const match = new RegExp(`\\b${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`, 'i').exec(attrs)
  const value = match?.[1] ?? match?.[2]
  return value === undefined ? undefined : decodeEntities(value)
}

function decodeEntities(value: string): string {
  return value
    .replace(/&quot;/g, '"')
    .replace(/&#0?39;|&#x27;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&#x2F;|&#47;/g, '/')
    .replace(/&amp;/g, '&')
}
