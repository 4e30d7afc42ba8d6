import { createHash, randomBytes } from 'node:crypto'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * Plumbing shared by the wire-format servers: each dialect file answers documented requests; this records every
 * request, injects faults on the token path, and turns a failed wire assertion into a 400 (and a `problems` entry
 * the test checks), since an assertion thrown in the server could not reach the test.
 */
export interface RecordedRequest {
  method: string
  path: string
  query: URLSearchParams
  headers: IncomingHttpHeaders
  body: string
}

export interface WireAnswer {
  status: number
  headers?: Record<string, string>
  body?: unknown
}

export type TokenFault =
  | 'no_access_token' | 'not_json' | 'html_error_page' | 'status_500' | 'unknown_token_type'
  | 'expires_in_string' | 'expires_in_not_a_number' | 'invalid_grant' | 'bearer_capitalised'

export interface WireServerOptions {
  clientId?: string
  clientSecret?: string
  /** identity-hub */
  tenant?: string
  /** breakout password grant: username → password */
  users?: Record<string, string>
  /** rewrites the documented success answer of the token endpoint (variants: no expires_in, …) */
  tokenAnswer?: (documented: Record<string, unknown>) => Record<string, unknown>
}

export interface WireContext {
  opts: Required<Pick<WireServerOptions, 'clientId' | 'clientSecret'>> & WireServerOptions
  /** an assertion about the request; a false one fails the request with 400 and is kept in `problems` */
  expect(ok: boolean, what: string): void
  issueCode(data: CodeData): string
  /** single use; checks redirect_uri and the PKCE verifier (RFC 7636 §4.6) */
  redeemCode(code: string | undefined, redirectUri: string | undefined, verifier: string | undefined): CodeData | undefined
  token(prefix: string): string
  /** the documented success answer, through `opts.tokenAnswer` */
  ok(body: Record<string, unknown>, headers?: Record<string, string>): WireAnswer
}

export interface CodeData {
  redirectUri: string
  challenge?: string
  scope?: string
  /** OIDC Core §3.1.2.1, echoed in the ID token */
  nonce?: string
}

export type WireHandler = (req: RecordedRequest, ctx: WireContext) => WireAnswer | undefined

export interface WireDialectServer {
  tokenPath: string
  handle: WireHandler
}

export interface WireServer {
  url: URL
  tokenEndpoint: URL
  requests: RecordedRequest[]
  problems: string[]
  /** the next token endpoint request gets this answer instead */
  failNext(fault: TokenFault): void
  /** plays the consenting user: GETs the authorization URL and returns the callback URL it redirects to */
  authorize(url: URL): Promise<URL>
  stop(): Promise<void>
}

class WireAssertion extends Error {}

const documentedOk = { access_token: 'wire-at', token_type: 'bearer', expires_in: 3600 }
const faults: Record<TokenFault, WireAnswer> = {
  no_access_token: { status: 200, body: { token_type: 'bearer', expires_in: 3600 } },
  not_json: { status: 200, headers: { 'content-type': 'text/plain' }, body: 'access_token=wire-at&token_type=bearer' },
  html_error_page: { status: 200, headers: { 'content-type': 'text/html' }, body: '<!doctype html><h1>Maintenance</h1>' },
  status_500: { status: 500, body: { error: 'server_error' } },
  unknown_token_type: { status: 200, body: { ...documentedOk, token_type: 'mac' } },
  expires_in_string: { status: 200, body: { ...documentedOk, expires_in: '3600' } },
  // a numeric string is normalised (wire.ts); this one cannot be, and must be refused
  expires_in_not_a_number: { status: 200, body: { ...documentedOk, expires_in: 'one hour' } },
  invalid_grant: { status: 400, body: { error: 'invalid_grant', error_description: 'revoked' } },
  bearer_capitalised: { status: 200, body: { ...documentedOk, token_type: 'Bearer' } },
}

export const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url')

export function basicOf(id: string, secret: string) {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`
}

export async function startServer(dialect: WireDialectServer, options: WireServerOptions): Promise<WireServer> {
  const requests: RecordedRequest[] = []
  const problems: string[] = []
  const pending: TokenFault[] = []
  const codes = new Map<string, CodeData>()
  const opts = { clientId: 'wire-client', clientSecret: 'wire-secret', ...options }
  const ctx: WireContext = {
    opts,
    expect(ok, what) {
      if (!ok) throw new WireAssertion(what)
    },
    issueCode(data) {
      const code = randomBytes(12).toString('hex')
      codes.set(code, data)
      return code
    },
    redeemCode(code, redirectUri, verifier) {
      const data = code ? codes.get(code) : undefined
      if (!data || !code) return undefined
      codes.delete(code)
      ctx.expect(redirectUri === data.redirectUri, `redirect_uri ${redirectUri} is not the authorization request's`)
      if (data.challenge) ctx.expect(verifier !== undefined && s256(verifier) === data.challenge, 'code_verifier does not match')
      return data
    },
    token: (prefix) => `${prefix}-${randomBytes(8).toString('hex')}`,
    ok: (body, headers) => ({ status: 200, body: opts.tokenAnswer ? opts.tokenAnswer(body) : body, headers }),
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://wire')
      const recorded = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body: Buffer.concat(chunks).toString() }
      requests.push(recorded)
      let answer: WireAnswer | undefined
      try {
        const fault = recorded.path === dialect.tokenPath ? pending.shift() : undefined
        answer = fault ? faults[fault] : dialect.handle(recorded, ctx)
      } catch (err) {
        if (!(err instanceof WireAssertion)) throw err
        problems.push(`${recorded.method} ${recorded.path}: ${err.message}`)
        answer = { status: 400, body: { error: 'invalid_request', error_description: `wire: ${err.message}` } }
      }
      answer ??= { status: 404, body: { error: 'not_found' } }
      const isText = typeof answer.body === 'string'
      res.writeHead(answer.status, {
        'content-type': isText ? 'text/plain' : 'application/json;charset=UTF-8',
        'cache-control': 'no-store',
        ...answer.headers,
      })
      res.end(answer.body === undefined ? undefined : isText ? (answer.body as string) : JSON.stringify(answer.body))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const url = new URL(`http://127.0.0.1:${port}`)
  return {
    url,
    tokenEndpoint: new URL(dialect.tokenPath, url),
    requests,
    problems,
    failNext: (fault) => void pending.push(fault),
    async authorize(authorizationUrl) {
      const res = await fetch(authorizationUrl, { redirect: 'manual' })
      const location = res.headers.get('location')
      if (res.status !== 302 || !location) throw new Error(`authorization request failed: ${res.status} ${await res.text()}`)
      return new URL(location)
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** The documented authorization step: check the query, then 302 to redirect_uri with code and state. */
export function authorizeAnswer(q: URLSearchParams, ctx: WireContext, responseType: string): WireAnswer {
  ctx.expect(q.get('client_id') === ctx.opts.clientId, 'client_id')
  ctx.expect(q.get('response_type') === responseType, `response_type must be ${responseType}, got ${q.get('response_type')}`)
  const redirectUri = q.get('redirect_uri')
  ctx.expect(redirectUri !== null, 'redirect_uri missing')
  const challenge = q.get('code_challenge') ?? undefined
  if (challenge) ctx.expect(q.get('code_challenge_method') === 'S256', 'code_challenge_method must be S256')
  const data: CodeData = { redirectUri: redirectUri as string }
  if (challenge) data.challenge = challenge
  const scope = q.get('scope')
  if (scope !== null) data.scope = scope
  const nonce = q.get('nonce')
  if (nonce !== null) data.nonce = nonce
  const target = new URL(redirectUri as string)
  target.searchParams.set('code', ctx.issueCode(data))
  const state = q.get('state')
  if (state !== null) target.searchParams.set('state', state)
  return { status: 302, headers: { location: target.href } }
}

export function formBody(req: RecordedRequest, ctx: WireContext): URLSearchParams {
  ctx.expect(req.method === 'POST', `method must be POST, got ${req.method}`)
  const type = String(req.headers['content-type'] ?? '')
  ctx.expect(type.startsWith('application/x-www-form-urlencoded'), `content-type must be form-urlencoded, got ${type}`)
  return new URLSearchParams(req.body)
}

export function expectBasic(req: RecordedRequest, ctx: WireContext) {
  // compared raw, as the documented examples show it and as servers that never form-decode it do
  const expected = basicOf(ctx.opts.clientId, ctx.opts.clientSecret)
  ctx.expect(req.headers.authorization === expected, `Authorization must be ${expected}, got ${req.headers.authorization}`)
}

export const oauthError = (error: string, status = 400, description?: string): WireAnswer => ({
  status,
  body: description ? { error, error_description: description } : { error },
})
