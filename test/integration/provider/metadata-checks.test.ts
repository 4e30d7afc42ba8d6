import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { makeProvider, providerConfig } from './fixtures.js'
import { startTestBroker } from '../../support/start-app.js'
import { TEST_CLIENT_ID, TEST_CLIENT_SECRET } from '../../support/oidc-provider.js'
import { signingKey, startOidcWireServer, type OidcWireServer } from '../../support/wire/oidc.js'

// Start-up checks of the provider's discovery metadata: what no retry can fix is refused once, for good.
let idp: OidcWireServer
beforeAll(async () => {
  idp = await startOidcWireServer({ key: signingKey('k1'), clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET })
})
afterAll(() => idp.stop())
afterEach(() => {
  idp.state.metadata = {}
})

const config = () => providerConfig({ issuer: new URL(idp.issuer), clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET, scopes: ['openid'] })
const discoveries = () => idp.requests.filter((r) => r.path === '/.well-known/openid-configuration').length
const events = (lines: string[], event: string) => lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.event === event)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('PKCE methods (RFC 9700 §2.1.1)', () => {
  it('when the metadata lists code_challenge_methods_supported without S256, then the provider is refused once, with one error line, and not retried', async () => {
    idp.state.metadata = { code_challenge_methods_supported: ['plain'] }
    const { provider, lines } = makeProvider(config())
    const before = discoveries()
    provider.startLoading()
    await expect.poll(() => events(lines, 'provider.metadata_refused').length).toBe(1)
    await expect(provider.ensureReady()).rejects.toMatchObject({ status: 503, code: 'idp_unavailable' })
    // the background loader would have retried after 1 s
    await sleep(1500)
    provider.stop()
    expect(provider.isReady()).toBe(false)
    expect(discoveries()).toBe(before + 1)
    const [refused] = events(lines, 'provider.metadata_refused')
    expect(refused).toMatchObject({ level: 'error', problem: expect.stringContaining('without S256') })
    expect(events(lines, 'provider.metadata_failed')).toHaveLength(0)
  })

  it('when the broker starts against such a provider, then /readyz answers 503 with provider false', async () => {
    idp.state.metadata = { code_challenge_methods_supported: ['plain'] }
    const broker = await startTestBroker({ name: 'metadata-refused', issuer: idp.issuer })
    try {
      await expect.poll(() => broker.logs.some((l) => l.includes('provider.metadata_refused'))).toBe(true)
      const res = await fetch(`${broker.origin}/readyz`)
      expect(res.status).toBe(503)
      expect(await res.json()).toMatchObject({ provider: false })
    } finally {
      await broker.stop()
    }
  })

  it('when the metadata lists S256, or no methods at all (RFC 8414 §2), then the provider loads', async () => {
    for (const methods of [['plain', 'S256'], undefined]) {
      idp.state.metadata = { code_challenge_methods_supported: methods }
      const { provider } = makeProvider(config())
      await provider.ensureReady()
      expect(provider.isReady()).toBe(true)
    }
  })
})

describe('clock skew', () => {
  it("when the provider's Date header is two minutes off our clock, then one warn line gives the skew", async () => {
    const { provider, lines } = makeProvider(config(), { now: () => Date.now() - 120_000 })
    await provider.ensureReady()
    await provider.ensureReady()
    await expect(provider.refresh('unknown')).rejects.toBeDefined()
    const skews = events(lines, 'provider.clock_skew')
    expect(skews).toHaveLength(1)
    expect(skews[0]).toMatchObject({ level: 'warn' })
    expect(Math.abs((skews[0]!.skewSeconds as number) - 120)).toBeLessThanOrEqual(2)
  })

  it('when the clocks agree, then no skew is logged', async () => {
    const { provider, lines } = makeProvider(config())
    await provider.ensureReady()
    expect(events(lines, 'provider.clock_skew')).toHaveLength(0)
  })
})
