import { describe, expect, it } from 'vitest'
import { configWarnings } from '../../../src/config/check.js'
import { parseConfig } from '../../../src/config/load.js'
import { problemsOf, validRaw } from './fixtures.js'

const prod = { NODE_ENV: 'production' }
const trustEveryone =
  "trustProxy: must not trust every address in production (clients could choose their own); set the number of proxy hops or the proxies' addresses or subnets"

describe('parseConfig trustProxy in production', () => {
  it('when trustProxy is true in production, then it is refused by name', () => {
    expect(problemsOf({ ...validRaw(), trustProxy: true }, prod)).toEqual([trustEveryone])
  })

  it('when trustProxy names a /0 subnet in production, then it is refused as trusting everyone', () => {
    expect(problemsOf({ ...validRaw(), trustProxy: '10.0.0.0/8, ::/0' }, prod)).toEqual([trustEveryone])
  })

  it('when trustProxy is a hop count or subnets in production, then it is accepted', () => {
    expect(parseConfig({ ...validRaw(), trustProxy: 1 }, prod).trustProxy).toBe(1)
    expect(parseConfig({ ...validRaw(), trustProxy: 'loopback, 10.0.0.0/8' }, prod).trustProxy).toBe('loopback, 10.0.0.0/8')
  })

  it('when trustProxy is true outside production, then it is accepted (tests and local setups)', () => {
    expect(parseConfig({ ...validRaw(), trustProxy: true }, {}).trustProxy).toBe(true)
  })
})

describe('parseConfig limits', () => {
  it('when limits are absent, then bodies get 10 s and a client address 256 connections', () => {
    expect(parseConfig(validRaw(), {}).limits).toEqual({ bodyTimeoutSeconds: 10, maxConnectionsPerClient: 256 })
  })

  it('when limits are zero or fractional, then each bad key is named', () => {
    const raw = { ...validRaw(), limits: { bodyTimeoutSeconds: 0, maxConnectionsPerClient: 2.5 } }
    expect(problemsOf(raw).map((p) => p.split(':')[0])).toEqual(['limits.bodyTimeoutSeconds', 'limits.maxConnectionsPerClient'])
  })
})

describe('parseConfig metrics', () => {
  it('when metrics is absent, then there is no separate listener', () => {
    expect(parseConfig(validRaw(), {}).metrics).toEqual({ host: '127.0.0.1' })
  })

  it('when metrics.port is set, then the listener defaults to loopback', () => {
    expect(parseConfig({ ...validRaw(), metrics: { port: 9464 } }, {}).metrics).toEqual({ port: 9464, host: '127.0.0.1' })
    expect(parseConfig({ ...validRaw(), metrics: { port: 9464, host: '0.0.0.0' } }, {}).metrics.host).toBe('0.0.0.0')
  })

  it('when production runs without metrics.port, then the config check warns that /metrics is public', () => {
    const warning = 'metrics.port is not set: /metrics is served on the public listener'
    expect(configWarnings(parseConfig(validRaw(), prod))).toContain(warning)
    expect(configWarnings(parseConfig({ ...validRaw(), metrics: { port: 9464 } }, prod))).not.toContain(warning)
  })

  it('when metrics.port equals port, then it is refused by name', () => {
    expect(problemsOf({ ...validRaw(), port: 3000, metrics: { port: 3000 } })).toEqual([
      'metrics.port: must differ from port (3000): it is a listener of its own',
    ])
  })
})
