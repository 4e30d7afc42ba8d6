import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { expect, it } from 'vitest'
import type { DialectName } from '../../../src/config/types.js'
import { createBrowser, type Browser, type BrowserResponse } from '../../support/browser.js'
import type { TestBroker } from '../../support/start-app.js'
import type { TokenFault, WireServer } from '../../support/wire/index.js'

/**
 * Shared steps of the broker-level dialect tests: a login through the broker and a wire-format server, the
 * SPA's calls, and an identity endpoint for the plain OAuth 2 providers whose docs name the user nowhere else.
 */

/** GET /bff/login, the provider's authorize step as the consenting user, then the callback in the same browser. */
export async function codeFlowLogin(b: Browser, broker: TestBroker, wire: WireServer) {
  const start = await b.get(`${broker.origin}/bff/login`)
  expect(start.status, start.body).toBe(302)
  const authorizationUrl = new URL(start.location as string)
  const callbackUrl = await wire.authorize(authorizationUrl)
  const callback = await b.get(callbackUrl, { site: 'cross-site' })
  return { authorizationUrl, callbackUrl, callback }
}

/** what the SPA does: fetch with the cookie and X-CSRF: 1 */
export const xhr = (b: Browser, broker: TestBroker, path: string): Promise<BrowserResponse> =>
  b.get(`${broker.origin}${path}`, { xhr: true, headers: { 'x-csrf': '1' } })

export const json = (res: BrowserResponse) => JSON.parse(res.body) as Record<string, unknown>

export interface IdentityApi {
  url: URL
  /** the Authorization header of every request */
  seen: string[]
  stop(): Promise<void>
}

/**
 * A user endpoint on the provider's API (SAMI's `/users/self` lives on the API host, not the accounts host): answers
 * `answer` to a Bearer token the wire server issued (recognised by its prefix; `wire-at` is the fault answers'), 401
 * otherwise.
 */
export async function startIdentityApi(path: string, tokenPrefix: string, answer: Record<string, unknown>): Promise<IdentityApi> {
  const prefixes = [`Bearer ${tokenPrefix}`, 'Bearer wire-at']
  const seen: string[] = []
  const server = createServer((req, res) => {
    const auth = req.headers.authorization ?? ''
    seen.push(auth)
    const ok = req.method === 'GET' && new URL(req.url ?? '/', 'http://api').pathname === path && prefixes.some((p) => auth.startsWith(p))
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' })
    res.end(JSON.stringify(ok ? answer : { error: 'invalid_token' }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: new URL(path, `http://127.0.0.1:${port}`),
    seen,
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}

/** Where the next log lines start, and the ones written since. */
export const logMark = (broker: TestBroker) => {
  const from = broker.logs.length
  return () => broker.logs.slice(from)
}

const refused: Array<[TokenFault, number, string]> = [
  ['no_access_token', 400, 'login_failed'],
  ['not_json', 400, 'login_failed'],
  ['html_error_page', 400, 'login_failed'],
  ['unknown_token_type', 400, 'login_failed'],
  ['expires_in_not_a_number', 400, 'login_failed'],
  ['status_500', 503, 'idp_unavailable'],
]

/**
 * Malformed token answers at the callback (issue 4, deliverable 5): a clear error page, one log line naming the
 * provider and the problem without secrets, and no session.
 */
export function itRefusesMalformedCallbacks(
  dialect: DialectName,
  ctx: () => { broker: TestBroker; wire: WireServer; clientSecret: string },
  opts: { namesUserOutsideTokenResponse: boolean },
) {
  it.each(refused)('when the code exchange gets %s, then %i %s, a log line naming the provider, and no session', async (fault, status, code) => {
    const { broker, wire, clientSecret } = ctx()
    const b = createBrowser()
    const start = await b.get(`${broker.origin}/bff/login`)
    const callbackUrl = await wire.authorize(new URL(start.location as string))
    const since = logMark(broker)
    wire.failNext(fault)
    const res = await b.get(callbackUrl, { site: 'cross-site' })
    expect(res.status).toBe(status)
    expect(res.headers['content-type']).toMatch(/text\/html/)
    expect(res.body).toContain(code)
    const lines = since()
    const problem = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.event === 'provider.response_invalid')
    expect(problem).toMatchObject({ provider: dialect, context: 'callback', problem: status === 503 ? 'transient' : 'malformed' })
    const text = lines.join('\n')
    for (const secret of [clientSecret, callbackUrl.searchParams.get('code') as string]) expect(text).not.toContain(secret)
    expect(b.cookie(broker.origin, broker.config.session.cookieName)).toBeUndefined()
    expect((await xhr(b, broker, '/bff/user')).status).toBe(401)
  })

  // the fault answers carry no user field: only a provider that names the user elsewhere can log in with them
  it.runIf(opts.namesUserOutsideTokenResponse)('when expires_in is a numeric string, then it is read as a number and the login succeeds', async () => {
    const { broker, wire } = ctx()
    const b = createBrowser()
    const start = await b.get(`${broker.origin}/bff/login`)
    const callbackUrl = await wire.authorize(new URL(start.location as string))
    wire.failNext('expires_in_string')
    expect((await b.get(callbackUrl, { site: 'cross-site' })).status).toBe(302)
    expect((await xhr(b, broker, '/bff/user')).status).toBe(200)
  })
}
