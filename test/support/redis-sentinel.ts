import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ChildProcess } from 'node:child_process'
import { Redis } from 'ioredis'
import { distinctFreePorts, makeTempDir, removeTempDir, spawnRedisProcess, stopRedisProcess } from './redis.js'

type Node = { host: string; port: number }

export interface RedisSentinelSetup {
  /** `redis.sentinel.name` */
  name: string
  sentinels: Node[]
  primary: Node
  replica: Node
  /** requirepass of the data nodes (and their masterauth) */
  password: string
  /** requirepass of the sentinels themselves */
  sentinelPassword: string
  /** how long start-up took, for the CI budget */
  startedInMs: number
  /** SIGKILL of the data node on `port` (a crash) */
  kill(port: number): void
  stop(): Promise<void>
}

const host = '127.0.0.1'
const name = 'mymaster'

/**
 * A real Sentinel setup on loopback: a primary, a replica (`--replicaof`) and three sentinels (quorum 2), with
 * passwords on the data nodes and on the sentinels. Each process has its own temp dir (a sentinel rewrites its
 * config file). Resolves once the replica is in sync and every sentinel knows the replica and the other two.
 */
export async function startRedisSentinel(opts: { password?: string; sentinelPassword?: string } = {}): Promise<RedisSentinelSetup> {
  const started = Date.now()
  const password = opts.password ?? 'sentinel-data-password'
  const sentinelPassword = opts.sentinelPassword ?? 'sentinel-own-password'
  const children: ChildProcess[] = []
  const byPort = new Map<number, ChildProcess>()
  const dirs: string[] = []
  const spawnIn = async (label: string, port: number, args: (dir: string) => string[], binary?: 'redis-sentinel') => {
    const dir = makeTempDir(`${label}-${port}`)
    dirs.push(dir)
    const child = await spawnRedisProcess(port, args(dir), { cwd: dir, binary })
    children.push(child)
    byPort.set(port, child)
  }
  const stop = async () => {
    await Promise.all(children.map((child) => stopRedisProcess(child)))
    for (const dir of dirs) removeTempDir(dir)
  }
  try {
    const [primaryPort, replicaPort, ...sentinelPorts] = await distinctFreePorts(5)
    const primary = { host, port: primaryPort! }
    const replica = { host, port: replicaPort! }
    const data = [
      '--bind', host, '--save', '', '--appendonly', 'no', '--loglevel', 'warning',
      '--requirepass', password, '--masterauth', password,
      // a full sync otherwise waits 5 s for more replicas to join the same transfer
      '--repl-diskless-sync-delay', '0',
    ]
    await spawnIn('primary', primary.port, () => ['--port', String(primary.port), ...data])
    await spawnIn('replica', replica.port, () => ['--port', String(replica.port), ...data, '--replicaof', host, String(primary.port)])
    const sentinels = sentinelPorts.map((port) => ({ host, port }))
    await Promise.all(
      sentinels.map(({ port }) =>
        spawnIn('sentinel', port, (dir) => [writeSentinelConf(dir, port, primary.port, password, sentinelPassword)], 'redis-sentinel'),
      ),
    )
    await untilSettled(replica, sentinels, password, sentinelPassword)
    const kill = (port: number) => void byPort.get(port)?.kill('SIGKILL')
    return { name, sentinels, primary, replica, password, sentinelPassword, startedInMs: Date.now() - started, kill, stop }
  } catch (error) {
    await stop()
    throw error
  }
}

function writeSentinelConf(dir: string, port: number, primaryPort: number, password: string, sentinelPassword: string): string {
  const path = join(dir, 'sentinel.conf')
  writeFileSync(
    path,
    [
      `port ${port}`,
      `bind ${host}`,
      `dir ${dir}`,
      'loglevel warning',
      `sentinel monitor ${name} ${host} ${primaryPort} 2`,
      `sentinel down-after-milliseconds ${name} 1000`,
      `sentinel failover-timeout ${name} 5000`,
      `sentinel auth-pass ${name} ${password}`,
      // the sentinels' own password; sentinel-pass is what they use to talk to each other
      `requirepass ${sentinelPassword}`,
      `sentinel sentinel-pass ${sentinelPassword}`,
      '',
    ].join('\n'),
  )
  return path
}

async function untilSettled(replica: Node, sentinels: Node[], password: string, sentinelPassword: string): Promise<void> {
  const replicaClient = new Redis({ ...replica, password, maxRetriesPerRequest: 1 })
  const sentinelClients = sentinels.map((s) => new Redis({ ...s, password: sentinelPassword, maxRetriesPerRequest: 1 }))
  const field = (reply: unknown, key: string) => {
    const list = Array.isArray(reply) ? (reply as string[]) : []
    return Number(list[list.indexOf(key) + 1] ?? NaN)
  }
  try {
    const deadline = Date.now() + 15_000
    for (;;) {
      const info = await replicaClient.info('replication').catch(() => '')
      const masters = await Promise.all(sentinelClients.map((c) => c.call('SENTINEL', 'MASTER', name).catch(() => [])))
      const synced = info.includes('master_link_status:up')
      const known = masters.every((m) => field(m, 'num-slaves') >= 1 && field(m, 'num-other-sentinels') >= 2)
      if (synced && known) return
      if (Date.now() > deadline) throw new Error(`sentinel setup not settled after 15 s (replica synced: ${synced})`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  } finally {
    replicaClient.disconnect()
    for (const c of sentinelClients) c.disconnect()
  }
}
