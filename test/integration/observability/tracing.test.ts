import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SpanKind } from '@opentelemetry/api'
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node'
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { createBrowser, startBrokerWithUpstream, TEST_SESSION_SECRET, TEST_TOKEN_KEY, type TestBroker } from '../../support/start-app.js'
import { completeProviderLogin, type Browser } from '../../support/browser.js'
import { TEST_CLIENT_SECRET, type RunningOidcProvider } from '../../support/oidc-provider.js'
import type { Upstream } from '../../support/upstream.js'
import { readLoginTransaction, readSessionGrant } from '../../support/grants.js'
import { unsignSessionCookie } from '../../../src/session/http-session.js'

// the test registers the SDK itself (as observability/tracing.ts would), before the broker is built
const exporter = new InMemorySpanExporter()
new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).register()

let broker: TestBroker
let idp: RunningOidcProvider
let upstream: Upstream
let stop: () => Promise<void>
let offsetMs = 0
const clock = { now: () => Date.now() + offsetMs }
const xhr = { xhr: true, headers: { 'x-csrf': '1' } }
/** every token, code, cookie value, handle and secret seen in the flow */
const secrets: Record<string, string> = {}

beforeAll(async () => {
  ;({ broker, idp, upstream, stop } = await startBrokerWithUpstream((url) => ({
    name: 'tracing',
    clock,
    idp: { accessTokenTtlSeconds: 60 },
    config: { apis: [{ path: '/api/echo', target: `${url}/echo`, token: 'user' }] },
  })))
  await runFlow(createBrowser())
})
afterAll(() => stop())

const cookieValues = (b: Browser) => {
  for (const c of b.cookies(broker.origin)) secrets[`cookie ${c.name}`] = c.value
}

/** login, an API call, an API call past the token's expiry (a refresh), logout */
async function runFlow(b: Browser) {
  const start = await b.get(`${broker.origin}/bff/login?returnTo=/app`)
  const state = new URL(start.location!).searchParams.get('state')!
  const tx = readLoginTransaction(broker, b, state)!
  cookieValues(b)
  const callback = await completeProviderLogin(b, start.location!)
  await b.get(callback, { site: 'cross-site' })
  cookieValues(b)
  const me = JSON.parse((await b.get(`${broker.origin}/bff/user`, xhr)).body) as { logoutUrl: string }
  expect((await b.get(`${broker.origin}/api/echo/one?q=1`, xhr)).status).toBe(200)
  const first = (await readSessionGrant(broker, b)).grant!
  offsetMs = 61_000 // the broker's clock is past the access token's lifetime: the next call refreshes
  expect((await b.get(`${broker.origin}/api/echo/two`, xhr)).status).toBe(200)
  const { grant: second, sessionId } = await readSessionGrant(broker, b)
  expect(second!.tokens.accessToken).not.toBe(first.tokens.accessToken)
  await b.get(`${broker.origin}${me.logoutUrl}`, { site: 'same-origin' })
  Object.assign(secrets, {
    'authorization code': new URL(callback).searchParams.get('code')!,
    state,
    'code verifier': tx.codeVerifier,
    nonce: tx.nonce!,
    'client secret': TEST_CLIENT_SECRET,
    'session secret': TEST_SESSION_SECRET,
    'token key': TEST_TOKEN_KEY,
    'session id': sessionId,
    'session id (signed)': secrets[`cookie ${broker.config.session.cookieName}`]!,
    'grant id': first.id,
    'access token 1': first.tokens.accessToken,
    'refresh token 1': first.tokens.refreshToken!,
    'id token': first.tokens.idToken!,
    'access token 2': second!.tokens.accessToken,
    'refresh token 2': second!.tokens.refreshToken!,
  })
  expect(unsignSessionCookie(secrets['session id (signed)']!, broker.config.session.secrets)).toBe(sessionId)
}

const spans = () => exporter.getFinishedSpans()
const named = (name: string, kind?: SpanKind) => spans().filter((s) => s.name === name && (kind === undefined || s.kind === kind))
const parentOf = (s: ReadableSpan) => spans().find((p) => p.spanContext().spanId === s.parentSpanContext?.spanId)
const childrenOf = (s: ReadableSpan) => spans().filter((c) => c.parentSpanContext?.spanId === s.spanContext().spanId)

describe('OpenTelemetry spans', () => {
  it('when an API call is proxied, then its server span has the route and status, and the upstream span under it sent the same trace id in traceparent', () => {
    const server = named('GET /api/echo', SpanKind.SERVER)
    expect(server).toHaveLength(2)
    const first = server[0]!
    expect(first.attributes).toMatchObject({ 'http.request.method': 'GET', 'http.route': '/api/echo', 'http.response.status_code': 200 })
    expect(first.parentSpanContext).toBeUndefined()
    const call = childrenOf(first).find((s) => s.kind === SpanKind.CLIENT && s.name === 'GET /api/echo')!
    expect(call.attributes).toMatchObject({ 'http.response.status_code': 200, 'server.address': '127.0.0.1', 'bff.api.route': '/api/echo' })
    const received = upstream.requests.filter((r) => r.url.startsWith('/echo/'))
    expect(received.map((r) => r.url)).toEqual(['/echo/one?q=1', '/echo/two'])
    const [, traceId, parentId] = String(received[0]!.headers.traceparent).split('-')
    expect(traceId).toBe(first.spanContext().traceId)
    expect(parentId).toBe(call.spanContext().spanId)
    // the session read is a Redis span during the request, named after the command only. Found by time, not by trace:
    // with auto-pipelining a command is written from the batch that a sibling's command (a session touch of the
    // previous request, say) started, and its span then lands in that sibling's trace
    const ns = (t: [number, number]) => t[0] * 1e9 + t[1]
    const during = (s: { startTime: [number, number] }) => ns(s.startTime) >= ns(first.startTime) && ns(s.startTime) <= ns(first.endTime)
    const redis = exporter.getFinishedSpans().filter((s) => s.attributes['db.system.name'] === 'redis' && during(s))
    // the session and its grant are read in one round trip (MGET), or GETs on a cluster
    expect(redis.map((s) => s.name)).toEqual(expect.arrayContaining([expect.stringMatching(/^M?GET$/)]))
    for (const s of redis) expect(Object.keys(s.attributes).sort()).toEqual(['db.operation.name', 'db.system.name'])
  })

  it('when the token is refreshed, then a token refresh span under the request holds the lock wait, the lock command and the provider call', () => {
    const refresh = named('token refresh')
    expect(refresh).toHaveLength(1)
    const span = refresh[0]!
    expect(parentOf(span)?.name).toBe('GET /api/echo')
    expect(span.attributes['bff.token.operation']).toBe('refresh')
    expect(span.attributes['bff.lock.wait_ms']).toBeTypeOf('number')
    const children = childrenOf(span)
    const token = children.find((s) => s.name === 'POST token')!
    expect(token.kind).toBe(SpanKind.CLIENT)
    expect(token.attributes).toMatchObject({ 'bff.provider.endpoint': 'token', 'http.response.status_code': 200 })
    expect(children.map((s) => s.name)).toEqual(expect.arrayContaining(['SET', 'EVAL']))
    expect(idp.counts.refreshTokenGrants).toBe(1)
  })

  it('when a user logs in and out, then the callback, logout, discovery and revocation calls have their spans', () => {
    const callback = named('GET callback', SpanKind.SERVER)[0]!
    expect(callback.attributes['http.response.status_code']).toBe(302)
    expect(childrenOf(callback).map((s) => s.name)).toContain('POST token')
    const logout = named('GET logout', SpanKind.SERVER)[0]!
    expect(childrenOf(logout).map((s) => s.name)).toContain('POST revocation')
    expect(named('GET discovery', SpanKind.CLIENT).length).toBeGreaterThanOrEqual(1)
    expect(named('GET login', SpanKind.SERVER)).toHaveLength(1)
    expect(named('GET user', SpanKind.SERVER)).toHaveLength(1)
  })

  it('when spans of a login, API calls, a refresh and a logout are scanned, then none holds a token, code, cookie value, handle or secret', () => {
    expect(spans().length).toBeGreaterThan(30)
    expect(Object.keys(secrets).length).toBeGreaterThanOrEqual(16)
    for (const s of spans()) {
      const text = JSON.stringify({ name: s.name, attributes: s.attributes, events: s.events, links: s.links, status: s.status })
      for (const [what, value] of Object.entries(secrets)) {
        expect(value.length).toBeGreaterThan(8)
        expect(text.includes(value), `${what} in span ${s.name}`).toBe(false)
      }
      // no URL, query string or header value in any attribute
      for (const v of Object.values(s.attributes)) expect(String(v)).not.toMatch(/[?=]|^https?:|bearer/i)
    }
  })

  it("when a client sends its own traceparent, then the request starts a new trace linked to the client's, and the upstream gets the broker's traceparent only", async () => {
    const b = createBrowser()
    offsetMs = 0
    const start = await b.get(`${broker.origin}/bff/login`)
    await b.get(await completeProviderLogin(b, start.location!), { site: 'cross-site' })
    const clientTrace = '4bf92f3577b34da6a3ce929d0e0e4736'
    const headers = { ...xhr.headers, traceparent: `00-${clientTrace}-00f067aa0ba902b7-01`, tracestate: 'vendor=client-data' }
    expect((await b.get(`${broker.origin}/api/echo/linked`, { xhr: true, headers })).status).toBe(200)
    const received = upstream.requests.find((r) => r.url === '/echo/linked')!
    const server = named('GET /api/echo', SpanKind.SERVER).at(-1)!
    expect(server.spanContext().traceId).not.toBe(clientTrace)
    expect(server.links.map((l) => l.context.traceId)).toEqual([clientTrace])
    expect(String(received.headers.traceparent).split('-')[1]).toBe(server.spanContext().traceId)
    expect(received.headers.tracestate).toBeUndefined()
  })
})
