import { execFile, type ChildProcess } from 'node:child_process'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { distinctFreePorts, makeTempDir, removeTempDir, spawnRedisProcess, stopRedisProcess } from './redis.js'

export interface RedisCluster {
  /** every node, primaries and replicas (any of them seeds a client) */
  nodes: Array<{ host: string; port: number }>
  password: string
  /** how long start-up took, for the CI budget */
  startedInMs: number
  /** SIGKILL of the node on `port` (a crash: no shutdown, no failover handshake) */
  kill(port: number): void
  stop(): Promise<void>
}

const run = promisify(execFile)

/**
 * A real Redis Cluster on loopback: 3 primaries and 3 replicas, `requirepass` on every node (and `masterauth` so
 * replicas can sync), each in its own temp dir. Resolves once every node says `cluster_state:ok`. Killed with the
 * test process even when `stop` is never reached (see redis.ts).
 */
export async function startRedisCluster(opts: { password?: string; /** cluster-node-timeout (default 2000) */ nodeTimeoutMs?: number } = {}): Promise<RedisCluster> {
  const started = Date.now()
  const password = opts.password ?? 'cluster-test-password'
  const children: ChildProcess[] = []
  const byPort = new Map<number, ChildProcess>()
  const dirs: string[] = []
  const stop = async () => {
    await Promise.all(children.map((child) => stopRedisProcess(child)))
    for (const dir of dirs) removeTempDir(dir)
  }
  try {
    const ports = await distinctFreePorts(12)
    const nodes = ports.slice(0, 6).map((port) => ({ host: '127.0.0.1', port }))
    await Promise.all(
      nodes.map(async ({ port }, i) => {
        const dir = makeTempDir(`cluster-${port}`)
        dirs.push(dir)
        const child = await spawnRedisProcess(port, nodeArgs(port, ports[6 + i]!, password, opts.nodeTimeoutMs ?? 2000), { cwd: dir })
        children.push(child)
        byPort.set(port, child)
      }),
    )
    await run('redis-cli', [
      '-a', password, '--no-auth-warning', '--cluster', 'create',
      ...nodes.map(({ host, port }) => `${host}:${port}`),
      '--cluster-replicas', '1', '--cluster-yes',
    ], { timeout: 20_000 })
    await untilClusterOk(nodes.map((n) => n.port), password)
    const kill = (port: number) => void byPort.get(port)?.kill('SIGKILL')
    return { nodes, password, startedInMs: Date.now() - started, kill, stop }
  } catch (error) {
    await stop()
    throw error
  }
}

function nodeArgs(port: number, busPort: number, password: string, nodeTimeoutMs: number): string[] {
  return [
    '--port', String(port), '--bind', '127.0.0.1',
    // an explicit bus port: the default (port + 10000) may be taken or above 65535
    '--cluster-enabled', 'yes', '--cluster-port', String(busPort), '--cluster-config-file', 'nodes.conf',
    '--cluster-node-timeout', String(nodeTimeoutMs),
    '--dir', '.', '--save', '', '--appendonly', 'no', '--loglevel', 'warning',
    '--requirepass', password, '--masterauth', password, '--repl-diskless-sync-delay', '0',
  ]
}

async function untilClusterOk(ports: number[], password: string): Promise<void> {
  const clients = ports.map((port) => new Redis({ host: '127.0.0.1', port, password, maxRetriesPerRequest: 1 }))
  try {
    const deadline = Date.now() + 15_000
    for (;;) {
      const infos = await Promise.all(clients.map((c) => c.cluster('INFO').catch(() => '')))
      // and every replica in sync with its primary: session and grant writes wait for a replica (WAIT), and a
      // replica still loading its first sync would not acknowledge (the first login would answer 503)
      const replication = await Promise.all(clients.map((c) => c.info('replication').catch(() => '')))
      const synced = replication.every((r) => (r.includes('role:slave') ? r.includes('master_link_status:up') : r.includes('connected_slaves:1')))
      if (synced && infos.every((info) => info.includes('cluster_state:ok'))) return
      if (Date.now() > deadline) throw new Error(`cluster not ok after 15 s: ${infos.join(' | ')}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  } finally {
    for (const c of clients) c.disconnect()
  }
}
