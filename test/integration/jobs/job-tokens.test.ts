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
  const tokens = createJobTokens({
    store: countingStore(store, calls), prefix, clients: createJobClients(clients), tokenTtlSeconds: 300, now: () => 1_700_000_000_000,
  })
  return { prefix, calls, tokens }
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

  it('when a token is revoked, then the lookup finds nothing and the key is gone', async () => {
    const { prefix, tokens } = jobTokens()
    const { token } = await tokens.issue('nightly-report')
    await tokens.revoke(token)
    expect(await tokens.lookup(token)).toBeUndefined()
    expect(await keysWithPrefix(redisUrl(), prefix)).toEqual([])
  })

  it('when the string is not shaped like a job token, then the lookup answers undefined without calling the store', async () => {
    const { calls, tokens } = jobTokens()
    for (const garbage of ['', 'bffj_', `bffj_${'a'.repeat(42)}`, `bffj_${'a'.repeat(44)}`, `bffx_${'a'.repeat(43)}`, `bffj_${'a'.repeat(42)}=`]) {
      expect(await tokens.lookup(garbage)).toBeUndefined()
    }
    await tokens.revoke('garbage')
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
