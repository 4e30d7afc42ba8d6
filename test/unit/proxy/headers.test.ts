import type { IncomingMessage } from 'node:http'
import { describe, expect, it } from 'vitest'
import {
  filterRawResponseHead,
  filterRequestHeaders,
  filterResponseHeaders,
  forwardedHeaders,
  forwardedInfo,
  upstreamForwardingHeaders,
  isReservedCookie,
} from '../../../src/proxy/headers.js'
import { answerHead, answerPolicyFor, applyAnswerHeaders, rewriteLocation, varyWithCookie } from '../../../src/proxy/answer-headers.js'
import { apiRoute } from '../../support/api-route.js'

const names = (flat: string[]) => flat.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase())
const policy = { reserved: ['bff-session', 'bff-login'] }

describe('request header filtering', () => {
  const raw = [
    'Host', 'broker.example', 'Cookie', 'bff-session=abc', 'X-CSRF', '1', 'Authorization', 'Bearer stolen',
    'Proxy-Authorization', 'Basic x', 'Connection', 'keep-alive, X-Secret-Hop', 'Keep-Alive', 'timeout=5',
    'TE', 'trailers', 'Trailer', 'Expires', 'Transfer-Encoding', 'chunked', 'Upgrade', 'websocket',
    'Proxy-Connection', 'keep-alive', 'X-Secret-Hop', 'hidden', 'X-Forwarded-For', '6.6.6.6',
    'X-Forwarded-Proto', 'https', 'X-Forwarded-Host', 'evil.example', 'Forwarded', 'for=6.6.6.6', 'X-Real-IP', '6.6.6.6',
    'Accept', 'application/json', 'Content-Type', 'application/json', 'Content-Length', '12', 'X-Trace', 'a', 'X-Trace', 'b',
  ]

  it('when a browser request is filtered, then credentials, hop-by-hop and client forwarding headers are gone', () => {
    const out = filterRequestHeaders(raw, { csrfHeader: 'x-csrf', keepUpgrade: false })
    expect(names(out)).toEqual(['accept', 'content-type', 'content-length', 'x-trace', 'x-trace'])
    expect(out).toContain('b')
  })

  it("when a client sends W3C trace context, then traceparent and tracestate are not forwarded (the broker's own are, with tracing on)", () => {
    const out = filterRequestHeaders(
      ['Traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'tracestate', 'v=1', 'Accept', '*/*'],
      { csrfHeader: 'x-csrf', keepUpgrade: false },
    )
    expect(names(out)).toEqual(['accept'])
  })

  it('when a header is named in Connection, then it is not forwarded whatever its case', () => {
    const out = filterRequestHeaders(['Connection', 'X-A , x-b', 'x-a', '1', 'X-B', '2', 'x-c', '3'], {
      csrfHeader: 'x-csrf',
      keepUpgrade: false,
    })
    expect(names(out)).toEqual(['x-c'])
  })

  it('when a WebSocket upgrade is filtered, then Connection: Upgrade and Upgrade stay and the rest is cleaned', () => {
    const out = filterRequestHeaders(
      ['Connection', 'Upgrade', 'Upgrade', 'websocket', 'Cookie', 'c=1', 'Sec-WebSocket-Key', 'k', 'X-CSRF', '1'],
      { csrfHeader: 'x-csrf', keepUpgrade: true },
    )
    expect(out).toEqual(['connection', 'Upgrade', 'Upgrade', 'websocket', 'Sec-WebSocket-Key', 'k'])
  })
})

describe('response header filtering', () => {
  const headers = {
    'content-type': 'application/json',
    connection: 'close, x-upstream-hop',
    'x-upstream-hop': '1',
    'keep-alive': 'timeout=5',
    'transfer-encoding': 'chunked',
    'proxy-authenticate': 'Basic',
    'access-control-allow-origin': '*',
    'access-control-allow-credentials': 'true',
    'www-authenticate': 'Bearer error="invalid_token"',
    'set-cookie': ['theme=dark', 'bff-session=x', '__Host-bff-session=x', '__secure-BFF-Login=y', '=bff-session=z', 'noequals'],
  }

  it('when Set-Cookie is not passed, then every cookie and hop-by-hop header is dropped', () => {
    const out = Object.fromEntries(filterResponseHeaders(headers, false, policy))
    expect(out).toEqual({ 'content-type': 'application/json', 'www-authenticate': 'Bearer error="invalid_token"' })
  })

  it('when the route passes Set-Cookie, then only cookies not named like the broker cookies get through', () => {
    const out = Object.fromEntries(filterResponseHeaders(headers, true, policy))
    expect(out['set-cookie']).toEqual(['theme=dark'])
  })

  it.each([
    ['bff-session=1; Path=/', true],
    ['__Host-bff-session=1', true],
    ['__Secure-bff-session=1', true],
    ['__HOST-BFF-SESSION=1', true],
    [' bff-session =1', true],
    ['=bff-session=1', true],
    ['bff-session', true],
    ['bff-sessions=1', false],
    ['my-bff-session=1', false],
    ['bff-login.AbCdEf0123456789=1', true],
    ['__Host-bff-login.x=1', true],
    ['bff-loginx=1', false],
  ])('when the upstream sets %j, then reserved is %s', (line, reserved) => {
    expect(isReservedCookie(line, policy)).toBe(reserved)
  })

  it('when an upgrade response head is filtered, then Set-Cookie goes and the handshake headers stay', () => {
    const head = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSet-Cookie: bff-session=x\r\nSet-Cookie: a=1'
    expect(filterRawResponseHead(head, false, policy)).toBe(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
    )
    expect(filterRawResponseHead(head, true, policy)).toContain('Set-Cookie: a=1\r\n\r\n')
  })
})

const fakeReq = (headers: Record<string, string>, remoteAddress = '10.0.0.2') =>
  ({ headers, socket: { remoteAddress } }) as unknown as IncomingMessage

describe('forwarding headers', () => {
  const spoofed = { host: 'broker.local:3000', 'x-forwarded-for': '6.6.6.6, 1.2.3.4', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'evil.example' }
  const publicUrl = new URL('https://app.example.com')

  it('when no proxy is trusted, then client values are ignored and publicUrl gives proto and host', () => {
    expect(forwardedInfo(fakeReq(spoofed), false, publicUrl)).toEqual({
      chain: ['10.0.0.2'],
      proto: 'https',
      host: 'app.example.com',
    })
  })

  it('when no proxy is trusted and there is no publicUrl, then the socket and Host header are used', () => {
    expect(forwardedInfo(fakeReq(spoofed), 0)).toEqual({ chain: ['10.0.0.2'], proto: 'http', host: 'broker.local:3000' })
  })

  it('when every proxy is trusted, then the incoming chain is kept and the peer appended', () => {
    expect(forwardedInfo(fakeReq(spoofed), true, publicUrl)).toEqual({
      chain: ['6.6.6.6', '1.2.3.4', '10.0.0.2'],
      proto: 'http',
      host: 'evil.example',
    })
  })

  it('when one hop is trusted, then only the last chain entry is kept', () => {
    expect(forwardedInfo(fakeReq(spoofed), 1).chain).toEqual(['1.2.3.4', '10.0.0.2'])
  })

  it('when a subnet list names none of the peers, then nothing from the client is trusted', () => {
    expect(forwardedInfo(fakeReq(spoofed), 'loopback', publicUrl)).toEqual({ chain: ['10.0.0.2'], proto: 'https', host: 'app.example.com' })
  })

  it('when a subnet list names the peer, then the chain is kept up to the first untrusted hop and proto and host are believed', () => {
    expect(forwardedInfo(fakeReq(spoofed, '127.0.0.1'), 'loopback', publicUrl)).toEqual({
      chain: ['1.2.3.4', '127.0.0.1'],
      proto: 'http',
      host: 'evil.example',
    })
  })

  it.each([
    ['a comma string', '10.0.0.0/8, 1.2.3.0/24'],
    ['a comma string without spaces', '10.0.0.0/8,1.2.3.4'],
  ])('when trustProxy is %s naming every hop but the client, then the whole chain is kept', (_name, trust) => {
    expect(forwardedInfo(fakeReq(spoofed), trust).chain).toEqual(['6.6.6.6', '1.2.3.4', '10.0.0.2'])
  })

  it('when two hops are trusted, then a longer forged chain is cut to the last two entries', () => {
    const forged = { ...spoofed, 'x-forwarded-for': '9.9.9.9, 6.6.6.6, 1.2.3.4' }
    expect(forwardedInfo(fakeReq(forged), 2).chain).toEqual(['6.6.6.6', '1.2.3.4', '10.0.0.2'])
  })

  it('when the socket is already gone, then the chain is unknown and the client values are ignored', () => {
    expect(forwardedInfo({ headers: spoofed, socket: {} } as unknown as IncomingMessage, true, publicUrl).chain).toEqual(['unknown'])
  })

  it('when headers are built, then X-Forwarded-* and Forwarded tell the same story and junk becomes unknown', () => {
    const out = forwardedHeaders({ chain: ['1.2.3.4', 'x";proto=evil', '::1'], proto: 'https', host: 'app.example.com' })
    expect(out).toEqual([
      'x-forwarded-for', '1.2.3.4, unknown, ::1',
      'x-forwarded-proto', 'https',
      'x-forwarded-host', 'app.example.com',
      'forwarded', 'for=1.2.3.4, for=unknown, for="[::1]";proto=https;host="app.example.com"',
    ])
  })
})

describe('forwarding headers per connection', () => {
  const socket = (remoteAddress: string) => ({ remoteAddress })
  const onSocket = (sock: object, headers: Record<string, string>) => ({ headers, socket: sock }) as unknown as IncomingMessage
  const xff = (headers: readonly string[]) => headers[headers.indexOf('x-forwarded-for') + 1]
  const xfh = (headers: readonly string[]) => headers[headers.indexOf('x-forwarded-host') + 1]

  it('when an untrusted peer sends a second request with another Host on the same connection, then the new Host is forwarded', () => {
    const sock = socket('10.0.0.2')
    expect(xfh(upstreamForwardingHeaders(onSocket(sock, { host: 'a.example' }), false))).toBe('a.example')
    expect(xfh(upstreamForwardingHeaders(onSocket(sock, { host: 'b.example' }), false))).toBe('b.example')
  })

  it('when an untrusted peer changes its X-Forwarded-For between requests, then neither value is ever forwarded', () => {
    const sock = socket('10.0.0.2')
    expect(xff(upstreamForwardingHeaders(onSocket(sock, { host: 'a', 'x-forwarded-for': '1.1.1.1' }), false))).toBe('10.0.0.2')
    expect(xff(upstreamForwardingHeaders(onSocket(sock, { host: 'a', 'x-forwarded-for': '2.2.2.2' }), false))).toBe('10.0.0.2')
  })

  it('when a trusted proxy sends two requests on one connection, then each request forwards its own chain', () => {
    const sock = socket('127.0.0.1')
    const first = upstreamForwardingHeaders(onSocket(sock, { host: 'a', 'x-forwarded-for': '1.1.1.1' }), 'loopback')
    const second = upstreamForwardingHeaders(onSocket(sock, { host: 'a', 'x-forwarded-for': '2.2.2.2' }), 'loopback')
    expect([xff(first), xff(second)]).toEqual(['1.1.1.1, 127.0.0.1', '2.2.2.2, 127.0.0.1'])
  })

  it('when two connections come from different peers, then each has its own headers', () => {
    expect(xff(upstreamForwardingHeaders(onSocket(socket('10.0.0.2'), { host: 'a' }), false))).toBe('10.0.0.2')
    expect(xff(upstreamForwardingHeaders(onSocket(socket('10.0.0.3'), { host: 'a' }), false))).toBe('10.0.0.3')
  })
})

describe('proxied answer headers (Location, caching)', () => {
  const route = apiRoute('/api/orders/', 'http://orders.internal:8080/v1/')
  const policy = answerPolicyFor(route, new URL('https://app.example.com'))
  const recorder = () => {
    const set: Record<string, string> = {}
    return { set, sink: { setHeader: (name: string, value: string) => (set[name] = value) } }
  }

  it('when a Location names the target origin under its path, then it becomes public URL + route prefix', () => {
    expect(rewriteLocation('http://orders.internal:8080/v1/x', policy)).toBe('https://app.example.com/api/orders/x')
    expect(rewriteLocation('HTTP://Orders.Internal:8080/v1', policy)).toBe('https://app.example.com/api/orders')
    expect(rewriteLocation('//orders.internal:8080/v1/a?b=1#c', policy)).toBe('https://app.example.com/api/orders/a?b=1#c')
    expect(rewriteLocation('/v1/42?page=2', policy)).toBe('/api/orders/42?page=2')
  })

  it('when a Location lies elsewhere (other origin or port, outside the target path, dot-segments out of it, relative), then it is unchanged', () => {
    for (const location of [
      'http://orders.internal:9090/v1/x', 'https://orders.internal:8080/v1/x', 'https://idp.example.com/v1/x',
      'http://orders.internal:8080/v10/x', 'http://orders.internal:8080/v1/../admin', '/v2/x', 'x?y=1', '../up', '',
    ]) {
      expect(rewriteLocation(location, policy)).toBe(location)
    }
  })

  it('when the target and the route are roots, then every Location on the target origin maps one to one', () => {
    const root = answerPolicyFor(apiRoute('/', 'http://orders.internal:8080'), new URL('https://app.example.com'))
    expect(rewriteLocation('http://orders.internal:8080/', root)).toBe('https://app.example.com/')
    expect(rewriteLocation('/a/b', root)).toBe('/a/b')
  })

  it('when the broker has no public URL, then an absolute Location under the target becomes path-absolute', () => {
    expect(rewriteLocation('http://orders.internal:8080/v1/x', answerPolicyFor(route, undefined))).toBe('/api/orders/x')
  })

  it('when Vary is absent, names other fields, already names Cookie or is *, then Cookie is added once', () => {
    expect(varyWithCookie(undefined)).toBe('Cookie')
    expect(varyWithCookie('Accept')).toBe('Accept, Cookie')
    expect(varyWithCookie(['Accept', 'Origin'])).toBe('Accept, Origin, Cookie')
    expect(varyWithCookie('accept, COOKIE')).toBe('accept, COOKIE')
    expect(varyWithCookie('*')).toBe('*')
  })

  it('when a user route answers without Cache-Control, then private and Vary: Cookie are set; with one, only Vary', () => {
    const a = recorder()
    applyAnswerHeaders(a.sink, {}, policy)
    expect(a.set).toEqual({ 'cache-control': 'private', vary: 'Cookie' })
    const b = recorder()
    applyAnswerHeaders(b.sink, { 'cache-control': 'public, max-age=60', vary: 'Accept' }, policy)
    expect(b.set).toEqual({ vary: 'Accept, Cookie' })
  })

  it('when the route is anonymous with token none or client, then caching is left to the upstream; user-or-client is private', () => {
    for (const token of ['none', 'client'] as const) {
      const r = recorder()
      applyAnswerHeaders(r.sink, {}, answerPolicyFor(apiRoute('/p', 'http://x', { anonymous: true, token }), undefined))
      expect(r.set).toEqual({})
    }
    expect(answerPolicyFor(apiRoute('/p', 'http://x', { anonymous: true, token: 'user-or-client' }), undefined).private).toBe(true)
    expect(answerPolicyFor(apiRoute('/p', 'http://x', { token: 'none' }), undefined).private).toBe(true)
  })
})

describe('a proxied answer\'s head, written at once', () => {
  const route = apiRoute('/api/orders/', 'http://orders.internal:8080/v1/')
  const policy = answerPolicyFor(route, new URL('https://app.example.com'))
  const own = { list: ['X-Frame-Options', 'DENY', 'X-Content-Type-Options', 'nosniff'], names: new Set(['x-frame-options', 'x-content-type-options']) }
  const pairs = (flat: Array<string | string[]>) => flat.flatMap((v, i) => (i % 2 === 0 ? [[v, flat[i + 1]]] : []))

  it('when the upstream sends a header the broker owns, then only the broker\'s is in the head, first', () => {
    const upstream = { 'x-frame-options': 'ALLOWALL', 'content-type': 'application/json', 'set-cookie': ['a=1'] }
    const head = answerHead(upstream, filterResponseHeaders(upstream, true, { reserved: ['bff-session'] }), policy, own)
    expect(pairs(head)).toEqual([
      ['X-Frame-Options', 'DENY'], ['X-Content-Type-Options', 'nosniff'],
      ['content-type', 'application/json'], ['set-cookie', ['a=1']],
      ['cache-control', 'private'], ['vary', 'Cookie'],
    ])
  })

  it('when the upstream sends Location and Vary, then each appears once, as the policy writes it', () => {
    const upstream = { location: 'http://orders.internal:8080/v1/7', vary: 'Accept', 'cache-control': 'no-store' }
    const head = answerHead(upstream, filterResponseHeaders(upstream, false, { reserved: [] }), policy, own)
    expect(pairs(head).slice(2)).toEqual([
      ['cache-control', 'no-store'], ['location', 'https://app.example.com/api/orders/7'], ['vary', 'Accept, Cookie'],
    ])
    // the broker's list is copied, never grown
    expect(own.list).toHaveLength(4)
  })

  it('when the broker\'s own headers hold a cookie and the upstream passes cookies, then they share one Set-Cookie entry, the broker\'s first', () => {
    const mine = { list: ['set-cookie', ['mine=1'], 'X-Frame-Options', 'DENY'], names: new Set(['x-frame-options']) }
    const upstream = { 'set-cookie': ['up=1', 'up2=2'] }
    const head = answerHead(upstream, filterResponseHeaders(upstream, true, { reserved: [] }), policy, mine)
    expect(pairs(head).filter(([name]) => name === 'set-cookie')).toEqual([['set-cookie', ['mine=1', 'up=1', 'up2=2']]])
  })
})
