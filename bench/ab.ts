import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { resolve } from 'node:path'
import { sessionRecordBytes } from './lib/floor-blob.js'
import { startChild, childLogDir, type Child } from './lib/ipc.js'
import { load, median, shuffler, table } from './lib/load.js'
import type { BrokerChildInfo, BrokerChildOptions } from './servers/broker.js'
import { startRedisServer, freePort } from '../test/support/redis.js'
import { startOidcProvider } from '../test/support/oidc-provider.js'
import { createBrowser, login, type TestBroker } from '../test/support/start-app.js'
import { benchJob, seedJobArm } from './lib/job-arm.js'

// A/B of two broker builds, side by side in one run: the same load, the same floor (arm C of proxy-overhead), two
// broker children (one per build) serving the browser arm (D) and the job arm (F), all runs interleaved in a
// shuffled order round after round, so a change is measured against its base under the same machine weather.
// A build is a directory with a compiled server.js (a copy of dist/ from `npm run build`), or `src` (through tsx).
//
//   npm run build && cp -r dist .ab/base        # on the base commit
//   npm run build && cp -r dist .ab/change      # on the change
//   npm run bench:ab -- --a .ab/base --b .ab/change --rounds 8
//
// Builds must sit inside the checkout (their imports resolve node_modules from where they are).

const { values: args } = parseArgs({
  options: {
    a: { type: 'string', default: 'src' },
    b: { type: 'string', default: 'src' },
    rounds: { type: 'string', default: '6' },
    seconds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    /** which broker arms: D (browser cookie), F (job for a user) */
    arms: { type: 'string', default: 'DF' },
    seed: { type: 'string' },
    /** node flags for broker A / B, space-separated (a V8 or Node flag under test: --max-semi-space-size=32) */
    'a-node-args': { type: 'string' },
    'b-node-args': { type: 'string' },
    'floor-node-args': { type: 'string' },
  },
})
const rounds = Number(args.rounds)
const seconds = Number(args.seconds)
const connections = Number(args.connections)
const seed = Number(args.seed ?? Date.now() % 1_000_000)
const shuffle = shuffler(seed)
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url))
const builds = { A: args.a, B: args.b } as const
const children: Child<unknown>[] = []

type Arm = 'C' | 'DA' | 'DB' | 'FA' | 'FB'

async function main() {
  console.log(`ab: A=${builds.A}${args['a-node-args'] ? ` (${args['a-node-args']})` : ''} B=${builds.B}${args['b-node-args'] ? ` (${args['b-node-args']})` : ''}, ${rounds} round(s) × ${seconds} s, ${connections} connections, seed ${seed}; logs in ${childLogDir()}`)
  const redis = await startRedisServer()
  const ports = { A: await freePort(), B: await freePort() }
  const origin = (side: 'A' | 'B') => `http://127.0.0.1:${ports[side]}`
  const idp = await startOidcProvider({
    port: await freePort(),
    redirectUris: [`${origin('A')}/bff/callback`, `${origin('B')}/bff/callback`],
    accessTokenTtlSeconds: 3600,
  })
  try {
    const upstream = await startChild<{ url: string }>('upstream', here('./servers/upstream.ts'), {})
    children.push(upstream)
    const job = benchJob()
    const brokers: Record<'A' | 'B', { child: Child<BrokerChildInfo>; cookie: Record<string, string>; job: Record<string, string> }> = {} as never
    for (const side of ['A', 'B'] as const) {
      const options: BrokerChildOptions = {
        port: ports[side], issuer: idp.issuer, redisUrl: redis.url, keyPrefix: `bench${side}:`, upstreamUrl: upstream.info.url, jobs: job.jobs,
      }
      const build = builds[side]
      const nodeArgs = (side === 'A' ? args['a-node-args'] : args['b-node-args'])?.split(' ').filter(Boolean) ?? []
      const env: Record<string, string> = { BENCH_BROKER: JSON.stringify(options), ...(build !== 'src' && { BENCH_BROKER_BUILD: resolve(build) }) }
      const child = await startChild<BrokerChildInfo>(`broker-${side}`, here('./servers/broker.ts'), env, { execArgv: nodeArgs })
      children.push(child)
      const browser = createBrowser()
      await login(browser, { origin: origin(side) } as TestBroker)
      const value = browser.cookie(origin(side), child.info.cookieName)
      await browser.close()
      if (!value) throw new Error(`login at broker ${side} failed`)
      brokers[side] = {
        child,
        cookie: { cookie: `${child.info.cookieName}=${value}`, 'x-csrf': '1', accept: 'application/json' },
        job: await seedJobArm(origin(side), job.secret),
      }
    }
    // the floor reads as many bytes as broker A keeps for a session (session record plus sealed grant)
    const blobBytes = (await sessionRecordBytes(redis.url, 'benchA:')).total
    const floor = await startChild<{ url: string }>('floor-proxy', here('./servers/bare-proxy.ts'), {
      BENCH_MODE: 'floor', BENCH_UPSTREAM: upstream.info.url, BENCH_REDIS: redis.url,
      BENCH_COOKIE: brokers.A.cookie.cookie as string, BENCH_BLOB_BYTES: String(blobBytes),
    }, { execArgv: args['floor-node-args']?.split(' ').filter(Boolean) ?? [] })
    children.push(floor)

    const target: Record<Arm, { url: string; child: Child<unknown>; headers: Record<string, string> }> = {
      C: { url: `${floor.info.url}/api/small`, child: floor, headers: brokers.A.cookie },
      DA: { url: `${origin('A')}/api/small`, child: brokers.A.child, headers: brokers.A.cookie },
      DB: { url: `${origin('B')}/api/small`, child: brokers.B.child, headers: brokers.B.cookie },
      FA: { url: `${origin('A')}/api/small`, child: brokers.A.child, headers: brokers.A.job },
      FB: { url: `${origin('B')}/api/small`, child: brokers.B.child, headers: brokers.B.job },
    }
    const arms: Arm[] = ['C', ...(args.arms.includes('D') ? ['DA', 'DB'] as const : []), ...(args.arms.includes('F') ? ['FA', 'FB'] as const : [])]
    const samples = new Map<Arm, Array<{ rps: number; cpu: number; p99: number }>>()
    const measure = async (arm: Arm, secs: number) => {
      const { child, url, headers } = target[arm]
      const cpu0 = await child.cpuUs()
      const result = await load({ url, connections, seconds: secs, headers })
      const cpu1 = await child.cpuUs()
      if (result.failed > 0) throw new Error(`arm ${arm}: ${result.failed} failed requests`)
      return { rps: result.rps, cpu: (cpu1 - cpu0) / result.ok, p99: result.p99Us }
    }
    process.stdout.write('warm-up')
    for (const arm of arms) { await measure(arm, 1); process.stdout.write('.') }
    process.stdout.write('\n')
    for (let round = 1; round <= rounds; round++) {
      process.stdout.write(`round ${round}/${rounds} `)
      // A and B of one arm run back to back (in a random order), so each round gives a pair measured moments apart
      const groups: Arm[][] = [['C'], ...(['D', 'F'] as const).filter((x) => arms.includes(`${x}A`)).map((x) => shuffle([`${x}A`, `${x}B`] as Arm[]))]
      for (const arm of shuffle(groups).flat()) {
        const list = samples.get(arm) ?? []
        list.push(await measure(arm, seconds))
        samples.set(arm, list)
        process.stdout.write(`${arm} ${(list.at(-1)?.rps ?? 0).toFixed(0)}/${(list.at(-1)?.cpu ?? 0).toFixed(0)}  `)
      }
      process.stdout.write('\n')
    }
    const stat = (arm: Arm) => {
      const list = samples.get(arm) ?? []
      return { rps: median(list.map((s) => s.rps)), cpu: median(list.map((s) => s.cpu)), p99: median(list.map((s) => s.p99)) }
    }
    const s = Object.fromEntries(arms.map((arm) => [arm, stat(arm)])) as Record<Arm, ReturnType<typeof stat>>
    console.log('')
    console.log(table([
      ['arm', 'req/s', 'p99 µs', 'CPU µs/req', 'vs C'],
      ...arms.map((arm) => [arm, s[arm].rps.toFixed(0), s[arm].p99.toFixed(0), s[arm].cpu.toFixed(1), (s[arm].rps / s.C.rps).toFixed(2)]),
    ]))
    for (const x of ['D', 'F'] as const) {
      if (!arms.includes(`${x}A`)) continue
      const a = s[`${x}A`], b = s[`${x}B`]
      // per round too: B's rate over A's in the same round, then the median of those
      const listA = samples.get(`${x}A`) ?? []
      const pairs = (samples.get(`${x}B`) ?? []).map((sb, i) => ({ rps: sb.rps / (listA[i]?.rps ?? NaN), cpu: sb.cpu - (listA[i]?.cpu ?? NaN) }))
      const cpuDiffs = pairs.map((p) => p.cpu).sort((m, n) => m - n)
      console.log(
        `${x}: B/A req/s ${(b.rps / a.rps).toFixed(3)} (median of pairs ${median(pairs.map((p) => p.rps)).toFixed(3)}), ` +
          `CPU µs/req B−A ${(b.cpu - a.cpu).toFixed(1)} (median of pairs ${median(cpuDiffs).toFixed(1)}, pairs ${cpuDiffs.map((d) => d.toFixed(0)).join(' ')})`,
      )
    }
  } finally {
    await Promise.all(children.splice(0).map((c) => c.stop().catch(() => undefined)))
    await idp.stop?.()
    await redis.stop()
  }
}

await main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1) })
