import { afterAll, beforeAll, describe, it } from 'vitest'
import { Cluster } from 'ioredis'
import { startRedisCluster, type RedisCluster } from '../../support/redis-cluster.js'
import { runJourney } from './journey.js'

// one real cluster for this file (3 primaries + 3 replicas, requirepass and masterauth on every node)
let cluster: RedisCluster
let inspect: Cluster
beforeAll(async () => {
  cluster = await startRedisCluster()
  console.info(`redis cluster started in ${cluster.startedInMs} ms`)
  inspect = new Cluster(cluster.nodes, { redisOptions: { password: cluster.password } })
}, 30_000)
afterAll(async () => {
  inspect?.disconnect()
  await cluster?.stop()
}, 15_000)

describe('scale-out: Redis Cluster', () => {
  it('when the broker uses redis.cluster with a password, then login, API call, refresh, logout and back-channel logout all work', async () => {
    await runJourney({
      name: 'cluster-journey',
      redis: { cluster: { nodes: cluster.nodes.slice(0, 3) }, password: cluster.password },
      inspect,
    })
  })
})
