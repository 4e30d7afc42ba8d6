import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { serveChild } from '../lib/ipc.js'
import { testConfig } from '../../test/support/start-app.js'
import { mobileConfig } from '../../test/support/mobile.js'

// Arms D, E and F of bench/proxy-overhead.ts, and each broker instance of bench/refresh-storm.ts: the real broker
// (startBroker from src/server.ts, the test configuration) at the production log level, with one API route.
// BENCH_BROKER holds the options as JSON (see BrokerChildOptions).

export interface BrokerChildOptions {
  port: number
  /** defaults to http://127.0.0.1:<port>; instances behind one load balancer share one */
  publicUrl?: string
  issuer: string
  redisUrl: string
  /** Redis key prefix: instances sharing sessions share it */
  keyPrefix: string
  upstreamUrl: string
  logLevel?: string
  refreshSkewSeconds?: number
  /** `jobs` config keys (arm F of proxy-overhead: a job client acting for users, bench/lib/job-arm.ts) */
  jobs?: Record<string, unknown>
}

export interface BrokerChildInfo {
  url: string
  cookieName: string
}

const opts = JSON.parse(process.env.BENCH_BROKER ?? '{}') as BrokerChildOptions
// BENCH_BROKER_BUILD: a directory holding a compiled build (its server.js), as `npm run build` writes dist/; the
// broker then runs as deployed (node, compiled JavaScript) instead of from src through tsx. bench/ab.ts gives each of
// its two brokers one
const build = process.env.BENCH_BROKER_BUILD
const { startBroker } = (build
  ? await import(pathToFileURL(join(build, 'server.js')).href)
  : await import('../../src/server.js')) as typeof import('../../src/server.js')

await serveChild<BrokerChildInfo>(async () => {
  const config = testConfig({
    name: 'bench',
    port: opts.port,
    issuer: opts.issuer,
    redisUrl: opts.redisUrl,
    config: {
      logLevel: opts.logLevel ?? 'info',
      ...(opts.publicUrl ? { publicUrl: opts.publicUrl } : {}),
      redis: { keyPrefix: opts.keyPrefix },
      ...(opts.refreshSkewSeconds !== undefined ? { tokens: { refreshSkewSeconds: opts.refreshSkewSeconds } } : {}),
      apis: [{ path: '/api', target: opts.upstreamUrl, token: 'user' }],
      // the mobile apps of the tests: arm E of proxy-overhead logs in as one (DPoP) and calls /api with its handle
      mobile: mobileConfig(),
      ...(opts.jobs ? { jobs: opts.jobs } : {}),
    },
  })
  const broker = await startBroker(config, { host: '127.0.0.1', port: opts.port, allowInsecureHttp: true })
  return { info: { url: broker.url, cookieName: config.session.cookieName }, stop: () => broker.stop() }
})
