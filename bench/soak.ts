import { parseArgs } from 'node:util'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { writeHeapSnapshot } from 'node:v8'
import { table } from './lib/load.js'
import { startRedisServer } from '../test/support/redis.js'
import { createBrowser, login, startBrokerWithUpstream } from '../test/support/start-app.js'
import type { Browser } from '../test/support/browser.js'

// Soak (issue 10, item 9): steady load for --minutes against one in-process broker (real oidc-provider, a dedicated
// redis-server, the echo upstream), with logins, refreshes (access tokens live --token-ttl seconds) and logouts
// mixed in. Each minute it prints heap used, RSS, open sockets and the minute's p99 latency: a leak shows as a
// column that keeps climbing while the load stays the same. The provider, the upstream and the load generator run
// in this process too, so the memory figures are the whole process's.
//
//   npm run bench:soak                    # 10 minutes
//   npm run bench:soak -- --minutes 2 --workers 4 --rate 40
//   npm run bench:soak -- --minutes 4 --heap-snapshots /tmp/soak   # a V8 heap snapshot per minute, to diff

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    workers: { type: 'string', default: '8' },
    /** API calls per second across all workers */
    rate: { type: 'string', default: '80' },
    'token-ttl': { type: 'string', default: '20' },
    /** each worker logs out and in again after this many calls */
    'calls-per-session': { type: 'string', default: '150' },
    /** write a V8 heap snapshot after each minute's GC into this directory (to attribute a growing heap) */
    'heap-snapshots': { type: 'string' },
  },
})
const minutes = Number(args.minutes)
const workers = Number(args.workers)
const perWorkerDelayMs = (1000 * workers) / Number(args.rate)
const callsPerSession = Number(args['calls-per-session'])

const redis = await startRedisServer()
const bed = await startBrokerWithUpstream((url) => ({
  name: 'soak',
  redisUrl: redis.url,
  idp: { accessTokenTtlSeconds: Number(args['token-ttl']), rotateRefreshToken: true },
  config: { logLevel: 'warn', apis: [{ path: '/api/orders', target: `${url}/echo`, token: 'user' }] },
}))
const { broker, idp, upstream } = bed
const xhr = { xhr: true, headers: { 'x-csrf': '1' } }

interface Minute { latenciesMs: number[]; calls: number; errors: number; logins: number; logouts: number; statuses: Map<number, number> }
const fresh = (): Minute => ({ latenciesMs: [], calls: 0, errors: 0, logins: 0, logouts: 0, statuses: new Map() })
let current = fresh()
const deadline = Date.now() + minutes * 60_000
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function signIn(): Promise<Browser> {
  const b = createBrowser()
  const { res } = await login(b, broker)
  if (res.status !== 302) throw new Error(`login answered ${res.status}`)
  current.logins++
  return b
}

async function signOut(b: Browser) {
  const user = await b.get(`${broker.origin}/bff/user`, xhr)
  const { logoutUrl } = JSON.parse(user.body) as { logoutUrl: string }
  await b.get(`${broker.origin}${logoutUrl}`, { site: 'same-origin' })
  current.logouts++
  await b.close()
}

async function worker() {
  let b = await signIn()
  for (let calls = 0; Date.now() < deadline; calls++) {
    if (calls > 0 && calls % callsPerSession === 0) {
      await signOut(b)
      b = await signIn()
    }
    const started = performance.now()
    const res = await b.get(`${broker.origin}/api/orders/1`, xhr).catch(() => undefined)
    const m = current
    m.latenciesMs.push(performance.now() - started)
    m.calls++
    const status = res?.status ?? 0
    m.statuses.set(status, (m.statuses.get(status) ?? 0) + 1)
    if (status !== 200) m.errors++
    await sleep(perWorkerDelayMs)
  }
  await signOut(b)
}

const p99 = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0
}
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1)
const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length
const connections = () => new Promise<number>((resolve) => broker.server.getConnections((_e, n) => resolve(n)))

const rows = [['minute', 'calls', 'non-200', 'logins', 'logouts', 'refreshes', 'p99 ms', 'heap MB', 'rss MB', 'tcp sockets', 'broker conns']]
let refreshesBefore = 0
async function sample(minute: number) {
  const m = current
  current = fresh()
  const refreshes = idp.counts.refreshTokenGrants - refreshesBefore
  refreshesBefore = idp.counts.refreshTokenGrants
  // the test upstream records every request it serves (the tests assert on them): ~2.5 MB a minute here, which the
  // first soak runs showed as a climbing heap; they are dropped before each measurement (the broker keeps none)
  upstream.requests.length = 0
  // retained heap, not garbage waiting for the next major GC: with --expose-gc (npm run bench:soak) a full GC first
  ;(globalThis as { gc?: () => void }).gc?.()
  const { heapUsed, rss } = process.memoryUsage()
  const snapshots = args['heap-snapshots']
  if (snapshots) {
    mkdirSync(snapshots, { recursive: true })
    console.log(`heap snapshot: ${writeHeapSnapshot(join(snapshots, `minute-${minute}.heapsnapshot`))}`)
  }
  const row = [String(minute), String(m.calls), String(m.errors), String(m.logins), String(m.logouts), String(refreshes),
    p99(m.latenciesMs).toFixed(1), mb(heapUsed), mb(rss), String(sockets()), String(await connections())]
  rows.push(row)
  const odd = [...m.statuses].filter(([s]) => s !== 200).map(([s, n]) => `${s}×${n}`).join(' ')
  console.log(`minute ${minute}: ${row.slice(1).join('  ')}${odd ? `  (${odd})` : ''}`)
}

console.log(`soak: ${minutes} min, ${workers} workers, ~${args.rate} calls/s, access tokens live ${args['token-ttl']} s`)
const timer = setInterval(() => void sample(rows.length), 60_000)
try {
  await Promise.all(Array.from({ length: workers }, () => worker()))
} finally {
  clearInterval(timer)
  if (current.calls > 0) await sample(rows.length)
  global.gc?.()
  console.log(`\n${table(rows)}`)
  await bed.stop()
  await redis.stop()
}
