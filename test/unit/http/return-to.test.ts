import { describe, expect, it } from 'vitest'
import { safeReturnTo } from '../../../src/http/return-to.js'
import { dotSegmentPayloads, landsOn, openRedirectPayloads } from '../../support/open-redirects.js'

const publicUrl = new URL('https://app.example.com')

describe('returnTo validation (invariant 5)', () => {
  const payloads = openRedirectPayloads()

  it('when the 559 known open-redirect payloads are tried, then each is refused or lands on the broker origin', () => {
    expect(payloads).toHaveLength(559)
    let accepted = 0
    for (const payload of payloads) {
      const result = safeReturnTo(payload, publicUrl)
      if (result === undefined) continue
      accepted++
      expect({ payload, origin: landsOn(result, publicUrl.href) }).toEqual({ payload, origin: publicUrl.origin })
      expect(result.startsWith('/') && !result.startsWith('//')).toBe(true)
    }
    // most payloads are refused outright; the few accepted ones are harmless same-origin paths
    expect(accepted).toBeLessThan(payloads.length / 2)
  })

  it('when a dot-segment payload is tried, then it is refused or the value handed out lands on the broker origin and resolves to itself', () => {
    for (const payload of dotSegmentPayloads()) {
      const result = safeReturnTo(payload, publicUrl)
      if (result === undefined) continue
      // what the browser does with the Location header: resolve it against the page it came from
      expect({ payload, origin: landsOn(result, `${publicUrl.origin}/bff/callback`) }).toEqual({ payload, origin: publicUrl.origin })
      expect({ payload, result: safeReturnTo(result, publicUrl) }).toEqual({ payload, result })
    }
  })

  it.each(['/.//evil.example', '/%2e//evil.example', '/.%2E//evil.example', '/a/%2e%2e//evil.example', '/..//evil.example', '/./%2e%2e/.//evil.example'])(
    'when returnTo %j collapses to a network-path reference, then it is refused',
    (value) => {
      expect(safeReturnTo(value, publicUrl)).toBeUndefined()
    },
  )

  it('when dot-segments resolve to a path on this site, then the normalised path is what is handed out', () => {
    expect(safeReturnTo('/a/./b/../c?x=1#y', publicUrl)).toBe('/a/c?x=1#y')
    expect(safeReturnTo('/a/%2e%2e/orders', publicUrl)).toBe('/orders')
    expect(safeReturnTo('https://app.example.com/a/../x', publicUrl)).toBe('https://app.example.com/x')
  })

  it('when a plain relative path is given, then it is kept with its query and fragment', () => {
    expect(safeReturnTo('/orders?page=2#top', publicUrl)).toBe('/orders?page=2#top')
    expect(safeReturnTo(undefined, publicUrl)).toBe('/')
  })

  it.each([
    '//evil.example', '/\\evil.example', '\\\\evil.example', 'https://evil.example/', 'javascript:alert(1)',
    '/\t/evil.example', '/\n/evil.example', 'evil.example', '', 'http:evil.example', '/%0a/evil', 'https://app.example.com@evil.example',
  ])('when returnTo is %j, then it is refused', (value) => {
    const result = safeReturnTo(value, publicUrl)
    if (result !== undefined) expect(landsOn(result, publicUrl.href)).toBe(publicUrl.origin)
    else expect(result).toBeUndefined()
  })

  it('when returnTo is an absolute URL on the broker or a configured origin, then it is accepted, else refused', () => {
    expect(safeReturnTo('https://app.example.com/x', publicUrl)).toBe('https://app.example.com/x')
    expect(safeReturnTo('https://admin.example.com/y', publicUrl, ['https://admin.example.com'])).toBe('https://admin.example.com/y')
    expect(safeReturnTo('https://admin.example.com/y', publicUrl)).toBeUndefined()
    expect(safeReturnTo('https://admin.example.com.evil.example/', publicUrl, ['https://admin.example.com'])).toBeUndefined()
  })

  it('when returnTo is not a string (repeated parameter), then it is refused', () => {
    expect(safeReturnTo(['/a', '/b'], publicUrl)).toBeUndefined()
    expect(safeReturnTo({ a: 1 }, publicUrl)).toBeUndefined()
  })
})
