import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { Agent, createServer, request, type Server } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { freePort, redisUrl } from '../../support/redis.js'
import { startOidcProvider, TEST_CLIENT_ID, TEST_CLIENT_SECRET, type RunningOidcProvider } from '../../support/oidc-provider.js'
import { TEST_SESSION_SECRET, TEST_TOKEN_KEY } from '../../support/start-app.js'

// Invariant 11: SIGTERM → stop accepting, finish in-flight requests, close Redis, exit 0. The real entry point
// (src/main.ts) runs as a child process, as an orchestrator would run it.

const root = fileURLToPath(new URL('../../../', import.meta.url))
// A Redis logical database nobody else uses, so CLIENT LIST can tell the child's connection apart on the shared server.
const CHILD_DB = 11
const SLOW_MS = 1500
const slowBody = JSON.stringify({ done: true, filler: 'x'.repeat(64 * 1024) })

let dir: string
let child: ChildProcess | undefined
let idp: RunningOidcProvider
let upstream: Server
let upstreamHit: Promise<void>
let admin: Redis
let port: number
let output = ''

let upstreamHits = 0

async function startSlowUpstream(): Promise<{ server: Server; url: string; hit: Promise<void> }> {
  let markHit = () => {}
  const hit = new Promise<void>((resolve) => (markHit = resolve))
  const server = createServer((_req, res) => {
    upstreamHits++
    markHit()
    setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(slowBody), SLOW_MS)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hit }
}

/** Clients of the shared Redis connected to the child's database. */
async function childRedisClients(): Promise<number> {
  const list = (await admin.call('CLIENT', 'LIST')) as string
  return list.split('\n').filter((line) => new RegExp(`\\bdb=${CHILD_DB}\\b`).test(line)).length
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`${what} not within ${timeoutMs} ms; child output:\n${output.slice(-3000)}`)
}

function get(path: string, agent: Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent, headers: { 'x-csrf': '1' } }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

/** A fresh TCP connection: 'refused' once the listener is closed. */
function tryConnect(): Promise<'connected' | 'refused'> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve('connected')
    })
    socket.once('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNREFUSED' ? resolve('refused') : reject(err)))
  })
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bff-sigterm-'))
  port = await freePort()
  const origin = `http://127.0.0.1:${port}`
  idp = await startOidcProvider({ redirectUris: [`${origin}/bff/callback`] })
  const slow = await startSlowUpstream()
  upstream = slow.server
  upstreamHit = slow.hit
  admin = new Redis(redisUrl(), { maxRetriesPerRequest: 1 })

  const configPath = join(dir, 'bff.yaml')
  writeFileSync(
    configPath,
    stringify({
      publicUrl: origin,
      port,
      logLevel: 'info',
      redis: { url: `${redisUrl()}/${CHILD_DB}`, keyPrefix: `t:sigterm:${process.pid}:` },
      session: { secrets: [TEST_SESSION_SECRET] },
      tokens: { encryptionKeys: [TEST_TOKEN_KEY] },
      provider: { issuer: idp.issuer, clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET, scopes: ['openid'] },
      apis: [{ path: '/api/slow', target: slow.url, token: 'none', anonymous: true }],
    }),
  )
  env = { ...process.env, BFF_CONFIG: configPath, NODE_ENV: 'test' }
  for (const name of ['REDIS_URL', 'BFF_CLIENT_SECRET', 'BFF_SESSION_SECRETS', 'BFF_TOKEN_KEYS']) delete env[name]
  await spawnBroker()
}, 30_000)

let env: NodeJS.ProcessEnv

/** The broker as production runs it (src/main.ts), its output gathered in `output`. */
async function spawnBroker(): Promise<void> {
  output = ''
  child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const probe = new Agent({ keepAlive: false })
  await until(async () => child?.exitCode === null && (await get('/healthz', probe)).status === 200, 15_000, '/healthz 200')
  await until(async () => (await childRedisClients()) >= 1, 5000, 'the child connected to Redis')
}

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  admin?.disconnect()
  await new Promise<void>((resolve) => (upstream ? upstream.close(() => resolve()) : resolve()))
  await idp?.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('SIGTERM (invariant 11)', () => {
  it('when SIGTERM arrives during a request, then that request completes, new connections are refused, Redis is closed and the process exits 0', async () => {
    const proc = child!
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
      proc.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
    )
    expect(await childRedisClients()).toBeGreaterThanOrEqual(1)

    // keep-alive, as a browser would: the connection must still be let go once the response is done
    const agent = new Agent({ keepAlive: true })
    let settled = false
    const inFlight = get('/api/slow/report', agent).finally(() => (settled = true))
    await upstreamHit

    const signalledAt = Date.now()
    proc.kill('SIGTERM')
    await until(async () => output.includes('"bff.stopping"'), 1000, 'the stopping log line')
    expect(await tryConnect()).toBe('refused')
    // the refusal came while the slow request was still running, so it is the broker closing its listener
    expect(settled).toBe(false)
    expect(proc.exitCode).toBeNull()

    const res = await inFlight
    expect(res.status).toBe(200)
    expect(res.body).toBe(slowBody)

    const exit = await exited
    agent.destroy()
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null })
    // SLOW_MS for the request in flight plus a little for closing Redis; nowhere near a keep-alive or 25 s cut-off
    expect(exit.at - signalledAt).toBeLessThan(SLOW_MS + 2500)
    expect(output).toContain('"bff.stopped"')

    await until(async () => (await childRedisClients()) === 0, 2000, 'the child Redis connection closed')
    expect(await childRedisClients()).toBe(0)
  }, 20_000)

  it('when a second SIGTERM arrives during the drain, then the process exits 1 at once, and the line saying so is on its stdout', async () => {
    await spawnBroker()
    const proc = child!
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
      proc.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
    )
    const agent = new Agent({ keepAlive: true })
    const hits = upstreamHits
    const inFlight = get('/api/slow/report', agent).catch(() => 'cut')
    await until(async () => upstreamHits > hits, 5000, 'the upstream hit')
    proc.kill('SIGTERM')
    await until(async () => output.includes('"bff.stopping"'), 1000, 'the stopping log line')
    const secondAt = Date.now()
    proc.kill('SIGTERM')
    const exit = await exited
    agent.destroy()
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 1, signal: null })
    // well before the request in flight would have finished
    expect(exit.at - secondAt).toBeLessThan(SLOW_MS)
    // logged in the turn that exits: written by the exit hook, not lost with the 10 ms window
    const forced = output.split('\n').filter((line) => line.includes('"bff.stop_forced"'))
    expect(forced).toHaveLength(1)
    expect(JSON.parse(forced[0] as string)).toMatchObject({ level: 'warn', signal: 'SIGTERM' })
    expect(await inFlight).toBe('cut')
  }, 20_000)
})
