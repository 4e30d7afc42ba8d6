import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Agent, request } from 'undici'
import { startChild, childLogDir, type Child } from './lib/ipc.js'
import { table } from './lib/load.js'
import type { BrokerChildInfo, BrokerChildOptions } from './servers/broker.js'
import { startRedisServer, freePort } from '../test/support/redis.js'
import { startOidcProvider } from '../test/support/oidc-provider.js'
import { createBrowser, login, type TestBroker } from '../test/support/start-app.js'

// Refresh storm (issue 3, item 7): 50 sessions × 4 concurrent loops calling the API across one access-token expiry,
// against a real oidc-provider with rotating refresh tokens; first on one broker instance, then on two instances
// sharing Redis behind a round-robin client. Each session must be refreshed exactly once (counted at the provider,
// per provider grant) and none may end logged out. About a minute.
//
//   npm run bench:storm
//   npm run bench:storm -- --sessions 20 --loops 2

const { values: args } = parseArgs({
  options: {
    sessions: { type: 'string', default: '50' },
    loops: { type: 'string', default: '4' },
    ttl: { type: 'string', default: '10' },
  },
})
const sessions = Number(args.sessions)
const loopsPerSession = Number(args.loops)
const ttlSeconds = Number(args.ttl)
// refresh when less than this remains: the storm crosses that point once per session, never twice
const skewSeconds = 2

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url))
const children: Child<unknown>[] = []
const stopAll = async () => { await Promise.all(children.splice(0).map((c) => c.stop().catch(() => undefined))) }
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface GrantEvents {
  refreshesByGrant: Map<string, number>
  loginGrants: string[]
}

interface Ctx { oidc?: { params?: Record<string, unknown>; entities?: Record<string, { grantId?: string } | undefined> } }

async function main() {
  const started = Date.now()
  console.log(`refresh-storm: ${sessions} sessions × ${loopsPerSession} loops, access tokens live ${ttlSeconds} s (refresh ${skewSeconds} s before); child logs in ${childLogDir()}`)
  const redis = await startRedisServer()
  const ports = { single: await freePort(), pairA: await freePort(), pairB: await freePort() }
  const idp = await startOidcProvider({
    redirectUris: [`http://127.0.0.1:${ports.single}/bff/callback`, `http://127.0.0.1:${ports.pairA}/bff/callback`],
    accessTokenTtlSeconds: ttlSeconds,
    rotateRefreshToken: true,
  })
  const events: GrantEvents = { refreshesByGrant: new Map(), loginGrants: [] }
  idp.provider.on('grant.success', (ctx: Ctx) => {
    const type = ctx.oidc?.params?.grant_type
    if (type === 'authorization_code') events.loginGrants.push(ctx.oidc?.entities?.AuthorizationCode?.grantId ?? '?')
    if (type === 'refresh_token') {
      const grantId = ctx.oidc?.entities?.RefreshToken?.grantId ?? '?'
      events.refreshesByGrant.set(grantId, (events.refreshesByGrant.get(grantId) ?? 0) + 1)
    }
  })
  const verdicts: Array<{ text: string; pass: boolean }> = []
  try {
    const upstream = await startChild<{ url: string }>('upstream', here('./servers/upstream.ts'), {})
    children.push(upstream)
    const startBrokers = async (name: string, portList: number[], keyPrefix: string) => {
      const publicUrl = `http://127.0.0.1:${portList[0]}`
      const list: Array<Child<BrokerChildInfo>> = []
      for (const [i, port] of portList.entries()) {
        const options: BrokerChildOptions = {
          port, publicUrl, issuer: idp.issuer, redisUrl: redis.url, keyPrefix, upstreamUrl: upstream.info.url, refreshSkewSeconds: skewSeconds,
        }
        const child = await startChild<BrokerChildInfo>(`${name}-${i + 1}`, here('./servers/broker.ts'), { BENCH_BROKER: JSON.stringify(options) })
        children.push(child)
        list.push(child)
      }
      return { publicUrl, list }
    }

    const rows: string[][] = [['setup', 'sessions', 'refreshes', 'per session min/max', 'replays/errors at IdP', 'calls', 'non-200', 'logged out', 'storm s']]
    for (const phase of [
      { name: 'one instance', ports: [ports.single], prefix: 'storm1:' },
      { name: 'two instances', ports: [ports.pairA, ports.pairB], prefix: 'storm2:' },
    ]) {
      const { publicUrl, list } = await startBrokers(phase.name.replace(' ', '-'), phase.ports, phase.prefix)
      const cookieName = list[0]?.info.cookieName ?? 'bff-session'
      const loginsBefore = events.loginGrants.length
      events.refreshesByGrant.clear()
      const errorsBefore = idp.counts.grantErrors

      // log the sessions in through the provider's pages, 10 at a time
      const cookies: string[] = []
      for (let i = 0; i < sessions; i += 10) {
        await Promise.all(Array.from({ length: Math.min(10, sessions - i) }, async () => {
          const browser = createBrowser()
          await login(browser, { origin: publicUrl } as TestBroker)
          const value = browser.cookie(publicUrl, cookieName)
          await browser.close()
          if (!value) throw new Error(`${phase.name}: a login ended without a session cookie`)
          cookies.push(`${cookieName}=${value}`)
        }))
      }
      const loggedInAt = Date.now()
      const grants = events.loginGrants.slice(loginsBefore)

      // every session's loops call the API until each grant was refreshed once and one more second has passed
      const agent = new Agent({ connections: sessions * loopsPerSession, keepAliveTimeout: 10_000 })
      let next = 0
      let calls = 0
      let failed = 0
      const loggedOut = new Set<number>()
      const deadline = loggedInAt + (ttlSeconds - skewSeconds + 3) * 1000
      const stormStart = Date.now()
      const loop = async (session: number) => {
        while (Date.now() < deadline && !loggedOut.has(session)) {
          const base = list[next++ % list.length]?.info.url
          const res = await request(`${base}/api/small`, {
            headers: { cookie: cookies[session] ?? '', 'x-csrf': '1' }, dispatcher: agent,
          }).catch(() => undefined)
          calls++
          if (!res) { failed++; continue }
          await res.body.dump()
          if (res.statusCode !== 200) failed++
          if (res.statusCode === 401) loggedOut.add(session)
        }
      }
      await Promise.all(Array.from({ length: sessions * loopsPerSession }, (_, i) => loop(i % sessions)))
      const stormSeconds = (Date.now() - stormStart) / 1000
      // afterwards, every session must still be logged in, on every instance
      for (const [i, cookie] of cookies.entries()) {
        for (const child of list) {
          const res = await request(`${child.info.url}/bff/user`, { headers: { cookie, 'x-csrf': '1' }, dispatcher: agent })
          await res.body.dump()
          if (res.statusCode !== 200) loggedOut.add(i)
        }
      }
      await agent.close()
      await sleep(200)
      const perGrant = grants.map((g) => events.refreshesByGrant.get(g) ?? 0)
      const refreshes = [...events.refreshesByGrant.values()].reduce((a, b) => a + b, 0)
      const idpErrors = idp.counts.grantErrors - errorsBefore
      rows.push([
        phase.name, String(sessions), String(refreshes), `${Math.min(...perGrant)}/${Math.max(...perGrant)}`,
        String(idpErrors), String(calls), String(failed), String(loggedOut.size), stormSeconds.toFixed(1),
      ])
      verdicts.push({
        text: `${phase.name}: exactly 1 refresh per session (min/max ${Math.min(...perGrant)}/${Math.max(...perGrant)}, total ${refreshes} for ${sessions})`,
        pass: perGrant.every((n) => n === 1) && refreshes === sessions,
      })
      verdicts.push({ text: `${phase.name}: 0 sessions logged out (${loggedOut.size}), 0 failed calls (${failed})`, pass: loggedOut.size === 0 && failed === 0 })
      await Promise.all(list.map((c) => c.stop()))
    }
    console.log('')
    console.log(table(rows))
    console.log('')
    for (const v of verdicts) console.log(`${v.pass ? 'PASS' : 'FAIL'}  ${v.text}`)
    const pass = verdicts.every((v) => v.pass)
    console.log(`${pass ? 'PASS' : 'FAIL'}  overall (${((Date.now() - started) / 1000).toFixed(0)} s)`)
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
