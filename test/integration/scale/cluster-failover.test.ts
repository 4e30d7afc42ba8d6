import { afterEach, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { startRedisCluster, type RedisCluster } from '../../support/redis-cluster.js'
import { expectInvariant20, runFailover } from './failover.js'

// a node is failed after 1 s without an answer (cluster-node-timeout), so a crashed primary's replica is promoted
// within about 2 s
const NODE_TIMEOUT_MS = 1000

let cluster: RedisCluster | undefined
afterEach(async () => {
  await cluster?.stop()
  cluster = undefined
}, 15_000)

interface Shard {
  primary: number
  replica: number
}

/** The primary holding the most of these sessions' records, and its replica (CLUSTER NODES, CLUSTER KEYSLOT). */
async function busiestShard(c: RedisCluster, sessionKeys: string[]): Promise<Shard> {
  const node = new Redis({ ...c.nodes[0]!, password: c.password })
  try {
    const lines = (String(await node.call('CLUSTER', 'NODES'))).trim().split('\n').map((line) => line.split(' '))
    const slots = await Promise.all(sessionKeys.map(async (key) => Number(await node.call('CLUSTER', 'KEYSLOT', key))))
    const portOf = (address: string) => Number(address.split('@')[0]!.split(':').at(-1))
    const owns = (ranges: string[], slot: number) => ranges.some((r) => {
      const [from, to = from] = r.split('-').map(Number)
      return slot >= from! && slot <= to!
    })
    const primaries = lines.filter((f) => f[2]!.includes('master'))
    const held = (f: string[]) => slots.filter((slot) => owns(f.slice(8), slot)).length
    const busiest = primaries.reduce((a, b) => (held(b) > held(a) ? b : a))
    expect(held(busiest)).toBeGreaterThan(0)
    const replica = lines.find((f) => f[3] === busiest[0])!
    return { primary: portOf(busiest[1]!), replica: portOf(replica[1]!) }
  } finally {
    node.disconnect()
  }
}

async function untilPrimary(c: RedisCluster, port: number): Promise<void> {
  const node = new Redis({ host: '127.0.0.1', port, password: c.password })
  try {
    await expect.poll(async () => ((await node.role()) as unknown[])[0], { timeout: 15_000, interval: 50 }).toBe('master')
    await expect.poll(async () => String(await node.call('CLUSTER', 'INFO')).includes('cluster_state:ok'), { timeout: 15_000, interval: 50 }).toBe(true)
  } finally {
    node.disconnect()
  }
}

async function runOnCluster(name: string, cause: (c: RedisCluster, shard: Shard) => Promise<void>) {
  const c = (cluster = await startRedisCluster({ nodeTimeoutMs: NODE_TIMEOUT_MS }))
  return runFailover({
    name,
    redis: { cluster: { nodes: c.nodes.slice(0, 3) }, password: c.password },
    async failover(sessionKeys) {
      const shard = await busiestShard(c, sessionKeys)
      await cause(c, shard)
      await untilPrimary(c, shard.replica)
    },
  })
}

describe('scale-out: a Redis Cluster failover under load (invariant 20)', () => {
  it('when a replica takes over with CLUSTER FAILOVER during the load, then no call fails with 500, no session is lost, and every call succeeds again afterwards', async () => {
    const result = await runOnCluster('cluster-manual-failover', async (c, shard) => {
      const replica = new Redis({ host: '127.0.0.1', port: shard.replica, password: c.password })
      await replica.call('CLUSTER', 'FAILOVER')
      replica.disconnect()
    })
    expectInvariant20('cluster, CLUSTER FAILOVER', result, 5000)
  }, 60_000)

  it('when a primary is killed with SIGKILL during the load, then its replica is promoted, no call fails with 500, no session is lost, and service resumes', async () => {
    const result = await runOnCluster('cluster-primary-killed', async (c, shard) => c.kill(shard.primary))
    expectInvariant20('cluster, primary SIGKILL', result, 10_000)
  }, 60_000)
})
