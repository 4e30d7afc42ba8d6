import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../../src/config/load.js'
import { redisClientPlan } from '../../../src/session/redis-options.js'
import { problemsOf, validRaw, writeTemp } from '../config/fixtures.js'

const planFor = (redis: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) =>
  redisClientPlan(parseConfig({ ...validRaw(), redis }, env).redis)
const nodes = [{ host: '10.0.0.1', port: 7000 }]
const sentinels = [{ host: '10.0.0.9', port: 26379 }]

describe('ioredis options from redis.*', () => {
  it("when a url carries credentials, then they move into the options and the url's user and password are empty", () => {
    const plan = planFor({ url: 'redis://app:s%40cret@cache:6380/2' })
    expect(plan.kind).toBe('single')
    if (plan.kind !== 'single') return
    expect(plan.url).toBe('redis://cache:6380/2')
    expect(plan.options).toMatchObject({ username: 'app', password: 's@cret', enableOfflineQueue: false })
    expect(plan.options.tls).toBeUndefined()
  })

  it("when redis.password and REDIS_PASSWORD are set, then the environment wins over the file and both over the url's", () => {
    const plan = planFor({ url: 'redis://app:old@cache:6379', password: 'from-file' }, { REDIS_PASSWORD: 'from-env' })
    expect(plan.kind === 'single' && plan.options).toMatchObject({ username: 'app', password: 'from-env' })
  })

  it('when redis.tls names a CA file and a server name, then the data nodes get TLS with that CA', () => {
    const ca = writeTemp('ca.pem', '-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n')
    const plan = planFor({ url: 'redis://cache:6379', tls: { ca, servername: 'cache.internal' } })
    const tls = plan.kind === 'single' ? plan.options.tls : undefined
    expect(tls).toMatchObject({ servername: 'cache.internal', rejectUnauthorized: true })
    expect(String(tls?.ca)).toContain('BEGIN CERTIFICATE')
  })

  it('when redis.tls is true, then TLS is on with the system CAs; false or absent leaves it off', () => {
    const on = planFor({ url: 'redis://cache:6379', tls: true })
    expect(on.kind === 'single' && on.options.tls).toEqual({ rejectUnauthorized: true })
    const off = planFor({ url: 'redis://cache:6379', tls: false })
    expect(off.kind === 'single' && off.options.tls).toBeUndefined()
  })

  it('when a cluster is configured, then every node gets the top-level user, password and TLS', () => {
    const plan = planFor({ cluster: { nodes }, username: 'bff', password: 'pw', tls: { rejectUnauthorized: false } })
    expect(plan.kind).toBe('cluster')
    if (plan.kind !== 'cluster') return
    expect(plan.nodes).toEqual(nodes)
    expect(plan.options.redisOptions).toMatchObject({ username: 'bff', password: 'pw', tls: { rejectUnauthorized: false } })
    expect(plan.options).toMatchObject({ enableOfflineQueue: false, enableAutoPipelining: true })
  })

  it("when Sentinel is configured, then the data nodes get redis.* credentials and the sentinels their own", () => {
    const sentinel = { name: 'mymaster', nodes: sentinels, username: 'watch', password: 'sentinel-pw' }
    const plan = planFor({ sentinel, password: 'data-pw', tls: true })
    expect(plan.kind).toBe('sentinel')
    expect(plan.options).toMatchObject({
      name: 'mymaster',
      sentinels,
      password: 'data-pw',
      sentinelUsername: 'watch',
      sentinelPassword: 'sentinel-pw',
      tls: { rejectUnauthorized: true },
      sentinelTLS: { rejectUnauthorized: true },
      enableTLSForSentinelMode: true,
    })
  })

  it('when redis.tls.ca names a file that cannot be read, then the config names the key', () => {
    expect(problemsOf({ ...validRaw(), redis: { url: 'redis://c:6379', tls: { ca: '/nonexistent/ca.pem' } } })).toEqual([
      'redis.tls.ca: cannot read /nonexistent/ca.pem',
    ])
  })

  it('when a key sits in the wrong place under redis.cluster or redis.tls, then the config names the key', () => {
    expect(problemsOf({ ...validRaw(), redis: { cluster: { nodes, password: 'x' } } })).toEqual([
      'redis.cluster.password: unknown key',
    ])
    expect(problemsOf({ ...validRaw(), redis: { url: 'redis://c:6379', tls: { verify: false } } })).toEqual([
      'redis.tls.verify: unknown key',
    ])
  })
})
