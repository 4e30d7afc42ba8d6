import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startUpstream, type Upstream } from '../../support/upstream.js'
import { apiRoute, startProxyApp, type ProxyApp } from './proxy-app.js'

// The head of a proxied answer: an upstream's own (internal) address in Location becomes the broker's public one
// (RFC 9110 §10.2.2), and a user's answer stays out of shared caches (RFC 9111 §5.2.2.7 private, Vary: Cookie).

let upstream: Upstream
let app: ProxyApp

beforeAll(async () => {
  upstream = await startUpstream()
  app = await startProxyApp(
    [
      apiRoute('/api/orders', `${upstream.url}/headers`),
      apiRoute('/api/public', `${upstream.url}/headers`, { anonymous: true, token: 'none' }),
    ],
    { publicUrl: new URL('https://app.example.com') },
  )
})
afterAll(async () => {
  await app?.close()
  await upstream?.stop()
})

const answer = (path: string, headers: Record<string, string | string[]>) => {
  const query = new URLSearchParams()
  for (const [name, value] of Object.entries(headers)) for (const v of [value].flat()) query.append(name, v)
  return request(app.url).get(`${path}?${query}`).redirects(0)
}

describe('proxied answer hygiene', () => {
  it('when the upstream redirects to its own absolute URL under the target, then the browser gets the broker public URL with the route prefix', async () => {
    const res = await answer('/api/orders/302', { location: `${upstream.url}/headers/v1/x?page=2#top` })
    expect(res.status).toBe(302)
    expect(res.headers.location).toBe('https://app.example.com/api/orders/v1/x?page=2#top')
  })

  it('when the upstream redirects to a path under its target, then the browser gets the path under the route prefix', async () => {
    const res = await answer('/api/orders/303', { location: '/headers/42' })
    expect(res.headers.location).toBe('/api/orders/42')
  })

  it('when the Location lies outside the target (another origin, another path, a relative reference), then it is left alone', async () => {
    for (const location of ['https://idp.example.com/authorize?x=1', `${upstream.url}/other/1`, '/other/1', 'next?page=3']) {
      const res = await answer('/api/orders/302', { location })
      expect(res.headers.location).toBe(location)
    }
  })

  it('when a user route answers without Cache-Control, then it gets Cache-Control: private and Vary: Cookie', async () => {
    const res = await answer('/api/orders/200', {})
    expect(res.headers['cache-control']).toBe('private')
    expect(res.headers.vary).toBe('Cookie')
  })

  it('when a user route answers with its own Cache-Control and Vary, then they are kept and Cookie is added to Vary', async () => {
    const res = await answer('/api/orders/200', { 'cache-control': 'no-store', vary: 'Accept, Accept-Encoding' })
    expect(res.headers['cache-control']).toBe('no-store')
    expect(res.headers.vary).toBe('Accept, Accept-Encoding, Cookie')
  })

  it('when an anonymous route with no token answers, then its caching headers are the upstream own', async () => {
    const res = await answer('/api/public/200', { vary: 'Accept' })
    expect(res.headers['cache-control']).toBeUndefined()
    expect(res.headers.vary).toBe('Accept')
  })
})
