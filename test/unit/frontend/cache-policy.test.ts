import { describe, expect, it } from 'vitest'
import { cacheControlFor, isFingerprinted } from '../../../src/frontend/cache-policy.js'
import { defaultAppPolicy } from '../../../src/frontend/csp.js'

describe('cache policy of the app files', () => {
  it('when a file name carries a build hash (Vite, Rollup, webpack), then it is fingerprinted', () => {
    for (const name of [
      'index-3f2a9c1b.js', 'index-DiwrgTda.css', 'react-CHdo91hT.svg', 'index-B-x_ab12.js.map', 'main.8e3d1a2b.js',
      'main.8e3d1a2b.chunk.js', 'vendor.0123456789abcdef0123.js',
    ]) expect(isFingerprinted(name), name).toBe(true)
  })

  it('when a file name has no hash, then it is not fingerprinted (a mistake would pin it for a year)', () => {
    for (const name of ['index.html', 'favicon.ico', 'robots.txt', 'app-settings.js', 'logo192.png', 'my-Component.js', 'jquery-3.7.1.min.js', 'facade-deadbeef.js']) {
      expect(isFingerprinted(name), name).toBe(false)
    }
  })

  it('when Cache-Control is chosen, then HTML is revalidated, hashed files are immutable, others short-lived', () => {
    expect(cacheControlFor('index.html')).toBe('no-cache')
    expect(cacheControlFor('docs/INDEX.HTML')).toBe('no-cache')
    expect(cacheControlFor('assets/index-3f2a9c1b.js')).toBe('public, max-age=31536000, immutable')
    expect(cacheControlFor('robots.txt')).toBe('public, max-age=300')
  })
})

describe('default CSP of the app pages', () => {
  it('when the app is a build, then scripts, styles and connections are this origin only and framing is refused', () => {
    const policy = defaultAppPolicy('static', new URL('https://app.example.com'))
    expect(policy).toContain("script-src 'self';")
    expect(policy).toContain("connect-src 'self';")
    expect(policy).toContain("frame-ancestors 'none'")
    expect(policy).not.toContain('unsafe')
  })

  it("when the app is a dev server, then inline code and the hot-reload WebSocket of the broker's origin are allowed", () => {
    const policy = defaultAppPolicy('target', new URL('http://localhost:3000'))
    expect(policy).toContain("script-src 'self' 'unsafe-inline';")
    expect(policy).toContain("connect-src 'self' ws://localhost:3000;")
    expect(defaultAppPolicy('target', new URL('https://app.example.com'))).toContain('wss://app.example.com')
  })
})
