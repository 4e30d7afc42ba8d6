import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../../src/config/load.js'
import { problemsOf, validRaw } from './fixtures.js'

const app = (extra: Record<string, unknown> = {}) => ({ clientId: 'com.example.orders', redirectUris: ['https://app.example.com/mobile/cb'], ...extra })
const withMobile = (mobile: Record<string, unknown>) => ({ ...validRaw(), mobile })

describe('mobile config', () => {
  it('when mobile is absent, then no app may log in and the documented defaults apply', () => {
    expect(parseConfig(validRaw(), {}).mobile).toEqual({
      handoffTtlSeconds: 60,
      idleTimeoutSeconds: 1_209_600,
      absoluteTimeoutSeconds: 7_776_000,
      apps: [],
    })
  })

  it('when an app names a claimed https URL, a loopback http URL and a reverse-DNS scheme, then it is DPoP-bound by default', () => {
    const uris = ['https://app.example.com/mobile/cb', 'http://127.0.0.1:8765/callback', 'http://[::1]/cb', 'com.example.orders:/cb']
    const config = parseConfig(withMobile({ apps: [app({ redirectUris: uris })] }), {})
    expect(config.mobile.apps).toEqual([{ clientId: 'com.example.orders', redirectUris: uris, dpop: true }])
  })

  it.each([
    ['http://app.example.com/cb', 'http is allowed only for loopback'],
    ['https://app.example.com/cb#frag', 'fragment'],
    ['myapp:/cb', 'reverse domain name'],
    ['not a uri', 'absolute URI'],
  ])('when a redirect URI is %s, then the error names mobile.apps[0].redirectUris[0]', (uri, text) => {
    const problems = problemsOf(withMobile({ apps: [app({ redirectUris: [uri] })] }))
    expect(problems.some((p) => p.startsWith('mobile.apps[0].redirectUris[0]') && p.includes(text))).toBe(true)
  })

  it('when two apps share a clientId, then the error names the second one', () => {
    const problems = problemsOf(withMobile({ apps: [app(), app()] }))
    expect(problems.some((p) => p.startsWith('mobile.apps[1].clientId') && p.includes('duplicate'))).toBe(true)
  })

  it.each([
    [{ handoffTtlSeconds: 4 }, 'mobile.handoffTtlSeconds'],
    [{ handoffTtlSeconds: 601 }, 'mobile.handoffTtlSeconds'],
    [{ idleTimeoutSeconds: 100, absoluteTimeoutSeconds: 50 }, 'mobile.idleTimeoutSeconds'],
    [{ apps: [app({ redirectUris: [] })] }, 'mobile.apps[0].redirectUris'],
    [{ apps: [app({ clientId: 'has space' })] }, 'mobile.apps[0].clientId'],
    [{ apps: [app({ secret: 'x' })] }, 'mobile.apps[0]'],
  ])('when mobile is %j, then the error names %s', (mobile, key) => {
    expect(problemsOf(withMobile(mobile)).some((p) => p.startsWith(key))).toBe(true)
  })
})
