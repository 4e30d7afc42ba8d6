import { afterAll, beforeAll, describe, it } from 'vitest'
import { Redis } from 'ioredis'
import { startRedisSentinel, type RedisSentinelSetup } from '../../support/redis-sentinel.js'
import { runJourney } from './journey.js'

// one real Sentinel setup for this file: primary + replica (requirepass, masterauth), three sentinels with their
// own password (sentinel auth-pass to reach the data nodes)
let setup: RedisSentinelSetup
let inspect: Redis
beforeAll(async () => {
  setup = await startRedisSentinel()
  console.info(`redis sentinel setup started in ${setup.startedInMs} ms`)
  inspect = new Redis({ host: setup.primary.host, port: setup.primary.port, password: setup.password })
}, 30_000)
afterAll(async () => {
  inspect?.disconnect()
  await setup?.stop()
}, 15_000)

describe('scale-out: Redis Sentinel', () => {
  it('when the broker uses redis.sentinel with data and sentinel passwords, then login, API call, refresh, logout and back-channel logout all work', async () => {
    await runJourney({
      name: 'sentinel-journey',
      redis: {
        sentinel: { name: setup.name, nodes: setup.sentinels, password: setup.sentinelPassword },
        password: setup.password,
      },
      inspect,
    })
  })
})
