import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { request } from 'undici'
import { startChild, childLogDir, type Child } from './lib/ipc.js'
import { load, median, shuffler, table, type LoadResult } from './lib/load.js'
import type { BrokerChildInfo, BrokerChildOptions } from './servers/broker.js'
import { startRedisServer, freePort } from '../test/support/redis.js'
import { startOidcProvider } from '../test/support/oidc-provider.js'
import { createBrowser, login, type TestBroker } from '../test/support/start-app.js'
import { mobileClient, mobileLogin } from '../test/support/mobile.js'
import { proofBudget, proofSource } from './lib/proofs.js'
import { benchJob, seedJobArm } from './lib/job-arm.js'
import { sessionRecordBytes } from './lib/floor-blob.js'

// Proxy overhead benchmark (issue 3, item 7). Six arms against one tiny upstream, on loopback:
//   A  direct to the upstream
//   B  bare keep-alive Node proxy (node:http + undici Pool.stream, no auth): the cost of the hop
//   C  B + one Redis GET of a session-sized blob + Authorization header: the physical floor of any BFF
//   D  the broker (startBroker), a logged-in session, X-CSRF: 1, route token: user
//   E  the same broker and route with a mobile app's DPoP-bound handle: a fresh proof on every request (signature
//      check, jti replay record in Redis), the proofs made here before each run (lib/proofs.ts), not in the broker
//   F  the same broker and route with a background job's token and X-On-Behalf-Of: the user's offline grant
//      (job token lookup, the user's offline grants, the grant; one job.call audit line per request)
// Body sizes: /small (~200 B JSON) and /64k. Regimes: latency (1 connection) and throughput (50 connections).
// Every server runs in its own child process; the load generator (autocannon) runs here.
//
//   npm run bench                  # 3 rounds × 24 runs × 4 s, about 6 minutes
//   npm run bench -- --quick       # 1 round × 24 runs × 2.5 s, about 2 minutes
//   npm run bench -- --cpu-prof    # also writes .cpuprofiles of the broker and floor children (paths printed at the end)

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

type Arm = 'A' | 'B' | 'C' | 'D' | 'E' | 'F'
const allArms = ['A', 'B', 'C', 'D', 'E', 'F'] as const
const arms = allArms.filter((a) => !args.arms || args.arms.includes(a)) as Arm[]
const armNames: Record<Arm, string> = {
  A: 'A direct',
  B: 'B bare proxy',
  C: 'C floor (B + Redis GET)',
  D: 'D broker',
  E: 'E broker, DPoP handle',
  F: 'F broker, job for a user',
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
    const job = benchJob()
    const brokerOptions: BrokerChildOptions = {
      port: brokerPort, issuer: idp.issuer, redisUrl: redis.url, keyPrefix, upstreamUrl: upstream.info.url, jobs: job.jobs,
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
    const sizes = await sessionRecordBytes(redis.url, keyPrefix)
    const blobBytes = sizes.total
    console.log(`broker records: session ${sizes.session} B, sealed grant ${sizes.grant} B; floor blob ${blobBytes} B`)

    // one real mobile login (system browser, handoff code, DPoP-bound handle); every E request then carries the
    // handle and a proof of its own (the floor's blob above is sized on the cookie session, as before)
    const asBroker = { origin: brokerOrigin } as TestBroker
    const app = mobileClient(asBroker)
    const { token } = await mobileLogin(asBroker, app)
    const proofs = proofSource(app.key!, token.accessToken)
    const dpopHeaders = { authorization: `DPoP ${token.accessToken}`, accept: 'application/json' }
    // an offline login and a job token: every F request acts for that user through the offline grant
    const jobHeaders = await seedJobArm(brokerOrigin, job.secret)

    const bare = await startChild<{ url: string }>('bare-proxy', here('./servers/bare-proxy.ts'), {
      BENCH_MODE: 'bare', BENCH_UPSTREAM: upstream.info.url,
    })
    children.push(bare)
    const floor = await startChild<{ url: string }>('floor-proxy', here('./servers/bare-proxy.ts'), {
      BENCH_MODE: 'floor', BENCH_UPSTREAM: upstream.info.url, BENCH_REDIS: redis.url,
      BENCH_COOKIE: headers.cookie, BENCH_BLOB_BYTES: String(blobBytes),
    }, { cpuProf: args['cpu-prof'] })
    children.push(floor)

    const target: Record<Arm, { url: (path: string) => string; child?: Child<unknown>; headers: Record<string, string> }> = {
      A: { url: (p) => `${upstream.info.url}${p}`, headers },
      B: { url: (p) => `${bare.info.url}/api${p}`, child: bare, headers },
      C: { url: (p) => `${floor.info.url}/api${p}`, child: floor, headers },
      D: { url: (p) => `${broker.info.url}/api${p}`, child: broker, headers },
      E: { url: (p) => `${broker.info.url}/api${p}`, child: broker, headers: dpopHeaders },
      F: { url: (p) => `${broker.info.url}/api${p}`, child: broker, headers: jobHeaders },
    }
    const firstHeaders = async (arm: Arm, url: string) =>
      arm === 'E' ? { ...dpopHeaders, dpop: (await proofs.make(url, 1))[0] as string } : target[arm].headers

    // every arm must answer 200 with the same body before anything is measured
    for (const body of bodies) {
      const lengths = new Set<number>()
      for (const arm of arms) {
        const r = await request(target[arm].url(body.path), { headers: await firstHeaders(arm, target[arm].url(body.path)) })
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

    // arm E: the fastest rate seen per case sizes the next run's pool of proofs
    const fastestE = new Map<string, number>()
    const proofsFor = async (c: (typeof cases)[number], secs: number) => {
      const url = target.E.url(c.body.path)
      const { count, reserve } = proofBudget(secs, c.regime.connections, fastestE.get(key(c, 'E')))
      return { name: 'dpop', values: await proofs.make(url, count), reserve }
    }
    const measure = async (c: (typeof cases)[number], arm: Arm, secs: number) => {
      const child = target[arm].child
      // made before the CPU probe and the load: the broker is idle meanwhile and nothing signs while it is measured
      const perRequest = arm === 'E' ? await proofsFor(c, secs) : undefined
      const cpu0 = child ? await child.cpuUs() : 0
      const url = target[arm].url(c.body.path)
      const result = await load({ url, connections: c.regime.connections, seconds: secs, headers: target[arm].headers, ...(perRequest && { perRequest }) })
      const cpu1 = child ? await child.cpuUs() : 0
      if (result.failed > 0) throw new Error(`arm ${arm} ${c.regime.name} ${c.body.name}: ${result.failed} failed requests`)
      if (arm === 'E') fastestE.set(key(c, arm), Math.max(result.rps, fastestE.get(key(c, arm)) ?? 0))
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
          // '*': the run ran out of pre-made proofs and stopped early (its rate still counts)
          process.stdout.write(sample.stoppedEarly ? `${arm}*` : arm)
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
      const s = Object.fromEntries(allArms.map((arm) => [arm, stat(c, arm)])) as Record<Arm, ReturnType<typeof stat>>
      console.log(`== ${c.regime.name} (${c.regime.connections} connection${c.regime.connections > 1 ? 's' : ''}), ${c.body.name} body ==`)
      console.log(table([
        ['arm', 'req/s', 'p50 µs', 'p99 µs', 'CPU µs/req', 'vs A'],
        ...arms.map((arm) => [armNames[arm], fmt(s[arm].rps), fmt(s[arm].p50), fmt(s[arm].p99), fmt(s[arm].cpu, 1), fmt(s[arm].rps / s.A.rps, 2)]),
      ]))
      const added = { C: s.C.p50 - s.A.p50, D: s.D.p50 - s.A.p50 }
      const dc = s.D.rps / s.C.rps
      const ec = s.E.rps / s.C.rps
      console.log(
        `D/A ${fmt(s.D.rps / s.A.rps, 2)}  D/C ${fmt(dc, 2)}  C/A ${fmt(s.C.rps / s.A.rps, 2)}  ` +
          `p50 added: D−A ${fmt(added.D)} µs, C−A ${fmt(added.C)} µs, 1.5×(C−A) ${fmt(1.5 * added.C)} µs`,
      )
      console.log(`E/A ${fmt(s.E.rps / s.A.rps, 2)}  E/C ${fmt(ec, 2)}  E/D ${fmt(s.E.rps / s.D.rps, 2)}  p50 added: E−A ${fmt(s.E.p50 - s.A.p50)} µs`)
      const fc = s.F.rps / s.C.rps
      console.log(`F/A ${fmt(s.F.rps / s.A.rps, 2)}  F/C ${fmt(fc, 2)}  F/D ${fmt(s.F.rps / s.D.rps, 2)}  p50 added: F−A ${fmt(s.F.p50 - s.A.p50)} µs`)
      console.log('')
      if (c.regime.name === 'throughput') {
        // the hot path within 15 % of the floor on the small body (the 64 KB body is bounded by copying bytes: 0.70)
        const floor = c.body.path === '/small' ? 0.85 : 0.7
        verdicts.push({ text: `throughput ${c.body.name}: D/C ${fmt(dc, 2)} ≥ ${fmt(floor, 2)}`, pass: dc >= floor })
        if (c.body.path === '/small') {
          verdicts.push({ text: `throughput ${c.body.name}: D p99 ${fmt(s.D.p99)} µs ≤ 1.5 × C p99 ${fmt(1.5 * s.C.p99)} µs`, pass: s.D.p99 <= 1.5 * s.C.p99 })
        }
        // a DPoP handle costs a signature check and a jti record per request on top of D
        if (arms.includes('E') && c.body.path === '/small') {
          verdicts.push({ text: `throughput ${c.body.name}: E/C ${fmt(ec, 2)} ≥ 0.60 (DPoP handle)`, pass: ec >= 0.6 })
        }
        // a job for a user: a job token and the user's offline grants to read instead of a session
        if (arms.includes('F') && c.body.path === '/small') {
          verdicts.push({ text: `throughput ${c.body.name}: F/C ${fmt(fc, 2)} ≥ 0.70 (job on a user's behalf)`, pass: fc >= 0.7 })
        }
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
    if (args['cpu-prof']) console.log(`CPU profiles: ${childLogDir()}/*.cpuprofile (the broker child's pid is ${broker.pid}, the floor's ${floor.pid})`)
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
