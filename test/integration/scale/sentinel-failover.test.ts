import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { startRedisSentinel, type RedisSentinelSetup } from '../../support/redis-sentinel.js'
import { expectInvariant20, runFailover } from './failover.js'

// the sentinels call the primary down after 1 s without an answer (down-after-milliseconds, redis-sentinel.ts)
let setup: RedisSentinelSetup
beforeAll(async () => {
  setup = await startRedisSentinel()
}, 30_000)
afterAll(() => setup?.stop(), 15_000)

describe('scale-out: a Redis Sentinel failover under load (invariant 20)', () => {
  it('when the primary is killed with SIGKILL during the load, then the sentinels promote the replica, no call fails with 500, no session is lost, and service resumes', async () => {
    const result = await runFailover({
      name: 'sentinel-primary-killed',
      redis: {
        sentinel: { name: setup.name, nodes: setup.sentinels, password: setup.sentinelPassword },
        password: setup.password,
      },
      async failover() {
        setup.kill(setup.primary.port)
        const replica = new Redis({ ...setup.replica, password: setup.password })
        try {
          await expect.poll(async () => ((await replica.role()) as unknown[])[0], { timeout: 20_000, interval: 50 }).toBe('master')
        } finally {
          replica.disconnect()
        }
      },
    })
    expectInvariant20('sentinel, primary SIGKILL', result, 10_000)
  }, 60_000)
})
