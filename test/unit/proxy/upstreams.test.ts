import { describe, expect, it } from 'vitest'
import { apiRoute } from '../../support/api-route.js'
import { BffError } from '../../../src/errors.js'
import { createRouteTable } from '../../../src/proxy/upstreams.js'

const route = apiRoute

const table = createRouteTable([
  route('/api/orders', 'http://orders:8080/v1'),
  route('/api/orders/admin', 'http://admin:9000/'),
  route('/api/users/', 'http://users:8080'),
  route('/api/files', 'http://files:8080/store/'),
])

describe('route table', () => {
  it('when the path is exactly the prefix, then it maps to the target path', () => {
    expect(table.match('/api/orders')?.upstreamPath).toBe('/v1')
  })

  it('when the path continues below the prefix, then the prefix is replaced by the target path', () => {
    const match = table.match('/api/orders/42')
    expect(match?.route.target.host).toBe('orders:8080')
    expect(match?.upstreamPath).toBe('/v1/42')
  })

  it('when the prefix only matches part of a segment, then no route matches', () => {
    expect(table.match('/api/ordersX')).toBeUndefined()
    expect(table.match('/api/ordersX/1')).toBeUndefined()
    expect(table.match('/api')).toBeUndefined()
  })

  it('when two prefixes match, then the longest one wins', () => {
    const match = table.match('/api/orders/admin/7')
    expect(match?.route.path).toBe('/api/orders/admin')
    expect(match?.upstreamPath).toBe('/7')
  })

  it('when the longer prefix only matches part of a segment, then the shorter route is used', () => {
    expect(table.match('/api/orders/administrator')?.upstreamPath).toBe('/v1/administrator')
  })

  it('when the query is present, then it is kept exactly as sent', () => {
    expect(table.match('/api/orders/42?expand=items&q=a%2Fb&x=%2e%2e')?.upstreamPath).toBe(
      '/v1/42?expand=items&q=a%2Fb&x=%2e%2e',
    )
  })

  it('when the target has no path, then the rest of the path is appended to the root', () => {
    expect(table.match('/api/users/7')?.upstreamPath).toBe('/7')
    expect(table.match('/api/users')?.upstreamPath).toBe('/')
    expect(table.match('/api/users?x=1')?.upstreamPath).toBe('/?x=1')
  })

  it('when the target path ends with a slash, then no double slash is produced', () => {
    expect(table.match('/api/files/a/b.txt')?.upstreamPath).toBe('/store/a/b.txt')
  })

  it('when a trailing slash follows the prefix, then it is kept', () => {
    expect(table.match('/api/orders/')?.upstreamPath).toBe('/v1/')
  })

  it('when the path keeps ordinary percent-encoding, then it is passed on undecoded', () => {
    expect(table.match('/api/orders/a%20b/%C3%A9t%C3%A9')?.upstreamPath).toBe('/v1/a%20b/%C3%A9t%C3%A9')
  })

  it('when the path holds a dot-segment, then the match is refused with 400 invalid_request', () => {
    try {
      table.match('/api/orders/../admin')
      expect.unreachable()
    } catch (err) {
      expect(err).toBeInstanceOf(BffError)
      expect((err as BffError).status).toBe(400)
      expect((err as BffError).code).toBe('invalid_request')
    }
  })

  it('when the matching is case-different, then no route matches (prefixes are exact)', () => {
    expect(table.match('/API/orders/1')).toBeUndefined()
  })

  it('when a route is mounted at the root, then every path maps under its target', () => {
    const root = createRouteTable([route('/', 'http://all:1/base')])
    expect(root.match('/x/y?z')?.upstreamPath).toBe('/base/x/y?z')
    expect(root.match('/')?.upstreamPath).toBe('/base/')
  })
})

describe('route table and the broker\'s own paths', () => {
  const owned = createRouteTable([route('/api/orders', 'http://orders:8080/v1')], { brokerBasePath: '/bff' })

  it('when a path under the broker\'s base path holds an encoded slash, then it is left to the broker\'s routes, not refused', () => {
    expect(owned.match('/bff/admin/users/https%3A%2F%2Fidp.example%2Fu%2F7/sessions')).toBeUndefined()
    // names no API route either way (the integration test shows the 404 and the upstream that saw nothing)
    expect(owned.match('/bff/../api/orders/1')).toBeUndefined()
    expect(owned.match('/bff/%2e%2e/api/orders/1')).toBeUndefined()
  })

  it('when the same spelling is outside the base path (or only looks like it), then it is still refused', () => {
    for (const path of ['/api/orders/a%2Fb', '/bffx/a%2Fb', '/b%66f/a%2Fb', '/x/..%2Fbff/a', '/BFF/a%2Fb', '/bff%2F..%2Fapi/orders']) {
      expect(() => owned.match(path), path).toThrow(BffError)
      // without a base path, the same
      expect(() => table.match(path), path).toThrow(BffError)
    }
    expect(owned.match('/api/orders/1')?.upstreamPath).toBe('/v1/1')
  })

  it('when an API route lies under the base path (the config refuses it), then the table is not built', () => {
    expect(() => createRouteTable([route('/bff/api', 'http://x:1')], { brokerBasePath: '/bff' })).toThrow(/under the broker's base path/)
  })
})
