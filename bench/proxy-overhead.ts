import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import { request } from 'undici'
import { startChild, childLogDir, type Child } from './lib/ipc.js'
import { load, median, shuffler, table, type LoadResult } from './lib/load.js'
import type { BrokerChildInfo, BrokerChildOptions } from './servers/broker.js'
import { startRedisServer, freePort } from '../test/support/redis.js'
import { startOidcProvider } from '../test/support/oidc-provider.js'
import { createBrowser, login, type TestBroker } from '../test/support/start-app.js'

// Proxy overhead benchmark (issue 3, item 7). Four arms against one tiny upstream, on loopback:
//   A  direct to the upstream
//   B  bare keep-alive Node proxy (node:http + undici Pool.stream, no auth): the cost of the hop
//   C  B + one Redis GET of a session-sized blob + Authorization header: the physical floor of any BFF
//   D  the broker (startBroker), a logged-in session, X-CSRF: 1, route token: user
// Body sizes: /small (~200 B JSON) and /64k. Regimes: latency (1 connection) and throughput (50 connections).
// Every server runs in its own child process; the load generator (autocannon) runs here.
//
//   npm run bench                  # 3 rounds × 16 runs × 4 s, about 4 minutes
//   npm run bench -- --quick       # 1 round × 16 runs × 2.5 s, about 1 minute
//   npm run bench -- --cpu-prof    # also writes a .cpuprofile of the broker child (path printed at the end)

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    seed: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    /** only these arms / regimes / bodies, for profiling: --arms CD --regime throughput --body small */
    arms: { type: 'string' },
    regime: { type: 'string' },
    body: { type: 'string' },
  },
})
const rounds = Number(args.rounds ?? (args.quick ? 1 : 3))
const seconds = Number(args.seconds ?? (args.quick ? 2.5 : 4))
const warmupSeconds = args.quick ? 0.5 : 1
const seed = Number(args.seed ?? Date.now() % 1_000_000)
const shuffle = shuffler(seed)

type Arm = 'A' | 'B' | 'C' | 'D'
const arms = (['A', 'B', 'C', 'D'] as const).filter((a) => !args.arms || args.arms.includes(a)) as Arm[]
const armNames: Record<Arm, string> = {
  A: 'A direct',
  B: 'B bare proxy',
  C: 'C floor (B + Redis GET)',
  D: 'D broker',
}
const regimes = ([
  { name: 'latency', connections: 1 },
  { name: 'throughput', connections: 50 },
] as const).filter((r) => !args.regime || r.name === args.regime)
const bodies = ([
  { name: '200 B', path: '/small' },
  { name: '64 KB', path: '/64k' },
] as const).filter((b) => !args.body || b.path === `/${args.body}`)

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url))
const children: Child<unknown>[] = []
const stopAll = async () => { await Promise.all(children.splice(0).map((c) => c.stop().catch(() => undefined))) }

async function main() {
  const started = Date.now()
  console.log(`proxy-overhead: ${rounds} round(s) × ${arms.length * regimes.length * bodies.length} runs × ${seconds} s, seed ${seed}; child logs in ${childLogDir()}`)
  const redis = await startRedisServer()
  const idpPort = await freePort()
  const brokerPort = await freePort()
  const brokerOrigin = `http://127.0.0.1:${brokerPort}`
  // a long access token: the steady state is measured, not a refresh (bench:storm is about refreshes)
  const idp = await startOidcProvider({ port: idpPort, redirectUris: [`${brokerOrigin}/bff/callback`], accessTokenTtlSeconds: 3600 })
  try {
    const upstream = await startChild<{ url: string }>('upstream', here('./servers/upstream.ts'), {})
    children.push(upstream)
    const keyPrefix = 'bench:'
    const brokerOptions: BrokerChildOptions = {
      port: brokerPort, issuer: idp.issuer, redisUrl: redis.url, keyPrefix, upstreamUrl: upstream.info.url,
    }
    const broker = await startChild<BrokerChildInfo>('broker', here('./servers/broker.ts'), { BENCH_BROKER: JSON.stringify(brokerOptions) }, { cpuProf: args['cpu-prof'] })
    children.push(broker)

    // one real login through the provider's pages; every D request then carries that cookie
    const browser = createBrowser()
    const { res } = await login(browser, { origin: brokerOrigin } as TestBroker)
    const cookieValue = browser.cookie(brokerOrigin, broker.info.cookieName)
    await browser.close()
    if (!cookieValue) throw new Error(`login failed: callback answered ${res.status} without a session cookie`)
    const headers = { cookie: `${broker.info.cookieName}=${cookieValue}`, 'x-csrf': '1', accept: 'application/json' }

    // the floor reads as many bytes as the broker keeps for a session: its session record plus its sealed grant
    const client = new Redis(redis.url)
    const sizes = { session: 0, grant: 0 }
    for (const key of await client.keys(`${keyPrefix}*`)) {
      if (key.startsWith(`${keyPrefix}sess:`)) sizes.session = await client.strlen(key)
      if (key.startsWith(`${keyPrefix}grant:`)) sizes.grant = await client.strlen(key)
    }
    client.disconnect()
    const blobBytes = sizes.session + sizes.grant
    console.log(`broker records: session ${sizes.session} B, sealed grant ${sizes.grant} B; floor blob ${blobBytes} B`)

    const bare = await startChild<{ url: string }>('bare-proxy', here('./servers/bare-proxy.ts'), {
      BENCH_MODE: 'bare', BENCH_UPSTREAM: upstream.info.url,
    })
    children.push(bare)
    const floor = await startChild<{ url: string }>('floor-proxy', here('./servers/bare-proxy.ts'), {
      BENCH_MODE: 'floor', BENCH_UPSTREAM: upstream.info.url, BENCH_REDIS: redis.url,
      BENCH_COOKIE: headers.cookie, BENCH_BLOB_BYTES: String(blobBytes),
    })
    children.push(floor)

    const target: Record<Arm, { url: (path: string) => string; child?: Child<unknown> }> = {
      A: { url: (p) => `${upstream.info.url}${p}` },
      B: { url: (p) => `${bare.info.url}/api${p}`, child: bare },
      C: { url: (p) => `${floor.info.url}/api${p}`, child: floor },
      D: { url: (p) => `${broker.info.url}/api${p}`, child: broker },
    }

    // every arm must answer 200 with the same body before anything is measured
    for (const body of bodies) {
      const lengths = new Set<number>()
      for (const arm of arms) {
        const r = await request(target[arm].url(body.path), { headers })
        const bytes = Buffer.from(await r.body.arrayBuffer()).length
        if (r.statusCode !== 200) throw new Error(`arm ${arm} ${body.path}: ${r.statusCode}`)
        lengths.add(bytes)
      }
      if (lengths.size !== 1) throw new Error(`arms disagree on ${body.path}: ${[...lengths].join(', ')} bytes`)
      console.log(`${body.path}: ${[...lengths][0]} B from every arm`)
    }

    const cases = regimes.flatMap((regime) => bodies.map((body) => ({ regime, body })))
    const key = (c: (typeof cases)[number], arm: Arm) => `${c.regime.name}|${c.body.name}|${arm}`
    const samples = new Map<string, Array<LoadResult & { cpuUsPerReq: number }>>()

    const measure = async (c: (typeof cases)[number], arm: Arm, secs: number) => {
      const child = target[arm].child
      const cpu0 = child ? await child.cpuUs() : 0
      const result = await load({ url: target[arm].url(c.body.path), connections: c.regime.connections, seconds: secs, headers })
      const cpu1 = child ? await child.cpuUs() : 0
      if (result.failed > 0) throw new Error(`arm ${arm} ${c.regime.name} ${c.body.name}: ${result.failed} failed requests`)
      return { ...result, cpuUsPerReq: child ? (cpu1 - cpu0) / result.ok : NaN }
    }

    process.stdout.write('warm-up')
    for (const c of cases) for (const arm of arms) { await measure(c, arm, warmupSeconds); process.stdout.write('.') }
    process.stdout.write('\n')
    for (let round = 1; round <= rounds; round++) {
      process.stdout.write(`round ${round}/${rounds} `)
      for (const c of shuffle(cases)) {
        for (const arm of shuffle(arms)) {
          const sample = await measure(c, arm, seconds)
          const list = samples.get(key(c, arm)) ?? []
          list.push(sample)
          samples.set(key(c, arm), list)
          process.stdout.write(arm)
        }
        process.stdout.write(' ')
      }
      process.stdout.write('\n')
    }

    // ---- report: medians over the rounds ----
    const stat = (c: (typeof cases)[number], arm: Arm) => {
      const list = samples.get(key(c, arm)) ?? []
      return {
        rps: median(list.map((s) => s.rps)),
        p50: median(list.map((s) => s.p50Us)),
        p99: median(list.map((s) => s.p99Us)),
        cpu: median(list.map((s) => s.cpuUsPerReq)),
      }
    }
    const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '—')
    const verdicts: Array<{ text: string; pass: boolean }> = []
    console.log('')
    for (const c of cases) {
      const s = Object.fromEntries((['A', 'B', 'C', 'D'] as const).map((arm) => [arm, stat(c, arm)])) as Record<Arm, ReturnType<typeof stat>>
      console.log(`== ${c.regime.name} (${c.regime.connections} connection${c.regime.connections > 1 ? 's' : ''}), ${c.body.name} body ==`)
      console.log(table([
        ['arm', 'req/s', 'p50 µs', 'p99 µs', 'CPU µs/req', 'vs A'],
        ...arms.map((arm) => [armNames[arm], fmt(s[arm].rps), fmt(s[arm].p50), fmt(s[arm].p99), fmt(s[arm].cpu, 1), fmt(s[arm].rps / s.A.rps, 2)]),
      ]))
      const added = { C: s.C.p50 - s.A.p50, D: s.D.p50 - s.A.p50 }
      const dc = s.D.rps / s.C.rps
      console.log(
        `D/A ${fmt(s.D.rps / s.A.rps, 2)}  D/C ${fmt(dc, 2)}  C/A ${fmt(s.C.rps / s.A.rps, 2)}  ` +
          `p50 added: D−A ${fmt(added.D)} µs, C−A ${fmt(added.C)} µs, 1.5×(C−A) ${fmt(1.5 * added.C)} µs`,
      )
      console.log('')
      if (c.regime.name === 'throughput') {
        verdicts.push({ text: `throughput ${c.body.name}: D/C ${fmt(dc, 2)} ≥ 0.70`, pass: dc >= 0.7 })
      } else {
        verdicts.push({
          text: `latency ${c.body.name}: D−A ${fmt(added.D)} µs ≤ 1.5×(C−A) ${fmt(1.5 * added.C)} µs at p50`,
          pass: added.D <= 1.5 * added.C,
        })
      }
    }
    for (const v of verdicts) console.log(`${v.pass ? 'PASS' : 'FAIL'}  ${v.text}`)
    const pass = verdicts.every((v) => v.pass)
    console.log(`${pass ? 'PASS' : 'FAIL'}  overall (${((Date.now() - started) / 1000).toFixed(0)} s, seed ${seed})`)
    if (args['cpu-prof']) console.log(`broker CPU profile: ${childLogDir()}/*.cpuprofile (the broker child's pid is ${broker.pid})`)
    process.exitCode = pass ? 0 : 1
  } finally {
    await stopAll()
    await idp.stop()
    await redis.stop()
  }
}

await main().catch(async (err: unknown) => {
  console.error(err)
  await stopAll()
  process.exit(2)
})
