import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createConnection, createServer } from 'node:net'
import { Redis } from 'ioredis'
import { inject } from 'vitest'

/** The shared test Redis that global-setup started (or REDIS_URL). */
export function redisUrl(): string {
  return inject('redisUrl')
}

/** A key prefix no other test file uses, so files can share one Redis without FLUSHALL. */
export function uniquePrefix(name: string): string {
  const safe = name.replace(/[^\w.-]+/g, '-')
  return `t:${safe}:${randomBytes(4).toString('hex')}:`
}

export interface KeyWithTtl {
  key: string
  /** PTTL: milliseconds left, -1 when the key never expires, -2 when it vanished meanwhile */
  ttlMs: number
}

/** Every key under `prefix` with its TTL, for "every key the broker writes expires" (invariant 14). */
export async function keysWithPrefix(url: string, prefix: string): Promise<KeyWithTtl[]> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true })
  try {
    await redis.connect()
    const keys: string[] = []
    // SCAN rather than KEYS: same result here, and it is the habit that survives a big Redis.
    const match = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`
    let cursor = '0'
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 500)
      keys.push(...batch)
      cursor = next
    } while (cursor !== '0')
    const unique = [...new Set(keys)].sort()
    const ttls = await Promise.all(unique.map((key) => redis.pttl(key)))
    return unique.map((key, i) => ({ key, ttlMs: ttls[i] ?? -2 }))
  } finally {
    redis.disconnect()
  }
}

/** Every key under `prefix` and its value (strings and set members), as one text: what a Redis dump would show. */
export async function redisDump(url: string, prefix: string): Promise<string> {
  const keys = await keysWithPrefix(url, prefix)
  const redis = new Redis(url, { maxRetriesPerRequest: 1 })
  try {
    const values = await Promise.all(
      keys.map(async ({ key }) => ((await redis.type(key)) === 'set' ? (await redis.smembers(key)).join(' ') : ((await redis.get(key)) ?? ''))),
    )
    return keys.map(({ key }, i) => `${key} ${values[i]}`).join('\n')
  } finally {
    redis.disconnect()
  }
}

/** Rate-limit windows are aligned on the minute: start a rate-limit test well inside one. */
export async function awayFromWindowEdge(): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000)
  if (left < 8000) await delay(left + 100)
}

export interface RedisServer {
  url: string
  port: number
  /** Stops the server (SIGTERM, then SIGKILL) and waits until the process has exited. */
  stop(): Promise<void>
  /** Starts it again on the same port; data is gone (no persistence). */
  start(): Promise<void>
}

const live = new Set<ChildProcess>()
const liveDirs = new Set<string>()
let exitHookInstalled = false

// Vitest ends its fork workers with SIGTERM, which skips 'exit' handlers; a parent-death signal
// (Linux, util-linux setpriv) kills redis-server with whatever process started it, even on SIGKILL.
const setpriv = process.platform === 'linux' && existsSync('/usr/bin/setpriv') ? '/usr/bin/setpriv' : undefined

// Where setpriv is missing: 'exit' handlers run synchronously and kill() is synchronous, so
// at least a normal or error exit leaves no redis-server behind.
function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL')
    for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true })
  })
}

/** A fresh temp directory (a node's cluster or sentinel config file), removed by `removeTempDir` or at exit. */
export function makeTempDir(label: string): string {
  installExitHook()
  const dir = mkdtempSync(join(tmpdir(), `bff-${label}-`))
  liveDirs.add(dir)
  return dir
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
  liveDirs.delete(dir)
}

/** A dedicated redis-server on a free loopback port, for tests that take Redis down and back up. */
export async function startRedisServer(options: { port?: number; /** extra redis-server arguments */ args?: readonly string[] } = {}): Promise<RedisServer> {
  installExitHook()
  let port = options.port ?? (await freePort())
  let child: ChildProcess | undefined

  // The free port can be taken between probing and binding; retry on a fresh one unless fixed.
  for (let attempt = 1; ; attempt++) {
    try {
      child = await spawnRedis(port, options.args)
      break
    } catch (error) {
      if (options.port !== undefined || attempt >= 3) throw error
      port = await freePort()
    }
  }

  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      if (child) await stopRedisProcess(child)
      child = undefined
    },
    async start() {
      if (child) return
      child = await spawnRedis(port, options.args)
    },
  }
  return server
}

function spawnRedis(port: number, extra: readonly string[] = []): Promise<ChildProcess> {
  return spawnRedisProcess(port, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning', ...extra])
}

/**
 * Spawns `redis-server` (or `redis-sentinel`) with `args`, tied to this process's life; resolves once `port`
 * answers PING (a NOAUTH refusal counts: the server is up, it wants a password).
 */
export async function spawnRedisProcess(
  port: number,
  args: readonly string[],
  opts: { binary?: 'redis-server' | 'redis-sentinel'; cwd?: string } = {},
): Promise<ChildProcess> {
  installExitHook()
  const binary = opts.binary ?? 'redis-server'
  const spawnOptions: SpawnOptions = { stdio: ['ignore', 'pipe', 'pipe'], cwd: opts.cwd }
  const child: ChildProcess = setpriv
    ? spawn(setpriv, ['--pdeathsig', 'SIGKILL', binary, ...args], spawnOptions)
    : spawn(binary, args, spawnOptions)
  live.add(child)
  let output = ''
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000)
  }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  let exited = false
  child.once('exit', () => {
    exited = true
    live.delete(child)
  })
  child.once('error', (error) => {
    exited = true
    output += String(error)
    live.delete(child)
  })

  const deadline = Date.now() + 5000
  while (Date.now() < deadline) {
    if (exited) break
    if (await answersPing(port)) return child
    await delay(20)
  }
  await stopRedisProcess(child)
  throw new Error(`${binary} did not start on port ${port}: ${output.trim() || 'no output'}`)
}

/** SIGTERM, then SIGKILL after 2 s; resolves once the process has exited. */
export async function stopRedisProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 2000)
  await exited
  clearTimeout(timer)
}

// A raw PING instead of an ioredis client: a client would log reconnect errors while the server boots.
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    let reply = ''
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk) => {
      reply += chunk.toString()
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG') || reply.startsWith('-NOAUTH'))
    })
  })
}

/** `n` different loopback ports that were free a moment ago (a cluster's data and bus ports). */
export async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>()
  while (ports.size < n) ports.add(await freePort())
  return [...ports]
}

/** A loopback port that was free a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      const port = typeof address === 'object' && address ? address.port : 0
      probe.close(() => resolve(port))
    })
  })
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
