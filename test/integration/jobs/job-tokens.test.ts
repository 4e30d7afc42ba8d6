import { afterAll, describe, expect, it } from 'vitest'
import { createHash } from 'node:crypto'
import { Redis } from 'ioredis'
import { createJobClients, secretHashOf } from '../../../src/jobs/job-clients.js'
import { createJobTokens } from '../../../src/jobs/job-tokens.js'
import { createRedisStore } from '../../../src/session/redis-store.js'
import { keysWithPrefix, redisUrl, uniquePrefix } from '../../support/redis.js'
import { countingStore } from '../tokens/support/instances.js'

const store = createRedisStore(new Redis(redisUrl()))
afterAll(() => store.close())

const client = { id: 'nightly-report', secretHash: secretHashOf('s'.repeat(43)), apis: [], onBehalfOf: false, admin: true }

function jobTokens(clients = [client]) {
  const prefix = uniquePrefix('job-tokens')
  const calls: string[] = []
  const clock = { now: 1_700_000_000_000 }
  const tokens = createJobTokens({
    store: countingStore(store, calls), prefix, clients: createJobClients(clients), tokenTtlSeconds: 300, now: () => clock.now,
  })
  return { prefix, calls, tokens, clock }
}

describe('job tokens', () => {
  it('when a token is issued, then it is bffj_ + 43 base64url characters and only its SHA-256 is a key, with the token TTL', async () => {
    const { prefix, tokens } = jobTokens()
    const issued = await tokens.issue('nightly-report')
    expect(issued.token).toMatch(/^bffj_[A-Za-z0-9_-]{43}$/)
    expect(issued.expiresInSeconds).toBe(300)
    const keys = await keysWithPrefix(redisUrl(), prefix)
    const hash = createHash('sha256').update(issued.token).digest('base64url')
    expect(keys.map((k) => k.key)).toEqual([`${prefix}job:${hash}`])
    expect(keys[0]?.ttlMs).toBeGreaterThan(298_000)
    expect(keys[0]?.ttlMs).toBeLessThanOrEqual(300_000)
    const raw = await store.get(`${prefix}job:${hash}`)
    expect(JSON.parse(raw ?? '')).toEqual({ clientId: 'nightly-report', issuedAt: 1_700_000_000_000 })
    expect(raw).not.toContain(issued.token.slice(5))
  })

  it('when a live token is looked up, then the configured client comes back', async () => {
    const { tokens } = jobTokens()
    const { token } = await tokens.issue('nightly-report')
    expect(await tokens.lookup(token)).toEqual({ client, issuedAt: 1_700_000_000_000 })
  })

  it('when a token was found once, then the instance answers from memory until the token expires, and never past it', async () => {
    const { calls, tokens, clock } = jobTokens()
    const { token } = await tokens.issue('nightly-report')
    calls.length = 0
    expect(await tokens.lookup(token)).toEqual({ client, issuedAt: 1_700_000_000_000 })
    expect(calls.sort()).toEqual(['get', 'ttl'])
    clock.now += 298_000
    expect(await tokens.lookup(token)).toEqual({ client, issuedAt: 1_700_000_000_000 })
    expect(calls).toHaveLength(2)
    // past its expiry the store is asked again (the real TTL there has not run out: this clock is simulated)
    clock.now += 2_000
    await tokens.lookup(token)
    expect(calls).toHaveLength(4)
  })

  it('when Redis has less TTL left than this instance\'s tokenTtlSeconds (another instance issued it shorter), then the memory ends with Redis\'s copy', async () => {
    const { prefix, calls, tokens: long, clock } = jobTokens()
    const short = createJobTokens({ store, prefix, clients: createJobClients([client]), tokenTtlSeconds: 30, now: () => clock.now })
    const { token } = await short.issue('nightly-report')
    expect(await long.lookup(token)).toBeDefined()
    expect(calls).toHaveLength(2)
    clock.now += 29_000
    await long.lookup(token)
    expect(calls).toHaveLength(2)
    clock.now += 2_000
    await long.lookup(token)
    expect(calls).toHaveLength(4)
  })

  it('when a token is not in the store, then it is not remembered: every lookup asks again', async () => {
    const { calls, tokens } = jobTokens()
    const never = `bffj_${'B'.repeat(43)}`
    expect(await tokens.lookup(never)).toBeUndefined()
    expect(await tokens.lookup(never)).toBeUndefined()
    expect(calls).toHaveLength(4)
  })

  it('when the string is not shaped like a job token, then the lookup answers undefined without calling the store', async () => {
    const { calls, tokens } = jobTokens()
    for (const garbage of ['', 'bffj_', `bffj_${'a'.repeat(42)}`, `bffj_${'a'.repeat(44)}`, `bffx_${'a'.repeat(43)}`, `bffj_${'a'.repeat(42)}=`]) {
      expect(await tokens.lookup(garbage)).toBeUndefined()
    }
    expect(calls).toEqual([])
  })

  it('when a well-formed token was never issued, then the lookup answers undefined', async () => {
    const { tokens } = jobTokens()
    expect(await tokens.lookup(`bffj_${'A'.repeat(43)}`)).toBeUndefined()
  })

  it('when the client of a live token is no longer configured, then the token is dead', async () => {
    const { prefix, tokens } = jobTokens()
    const { token } = await tokens.issue('nightly-report')
    const later = createJobTokens({ store, prefix, clients: createJobClients([]), tokenTtlSeconds: 300, now: Date.now })
    expect(await later.lookup(token)).toBeUndefined()
    expect(await tokens.lookup(token)).toBeDefined()
  })
})
