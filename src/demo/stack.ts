import { randomBytes } from 'node:crypto'
import { createServer } from 'node:net'
import { parseConfig } from '../config/load.js'
import type { Config } from '../config/types.js'
import type { Logger } from '../observability/logger.js'
import { startBroker, type RunningBroker } from '../server.js'
import { startDemoApi, type DemoApi } from './api.js'
import { demoPageDirectory } from './page.js'
import { DEMO_MOBILE_CLIENT_ID, demoMobileRedirectUri } from './mobile.js'
import { DEMO_JOB_CLIENT_ID } from './job.js'
import { secretHashOf } from '../jobs/job-clients.js'
import { startDemoProvider, type DemoProvider } from './provider.js'

// The whole demo as one function, so that `npm start` and the end-to-end tests run the very same thing:
// identity provider, API and broker (serving its page as frontend.static) on loopback, wired to each other, with fresh secrets.

export interface DemoStackOptions {
  /** the broker's port; 0 or absent picks a free one */
  port?: number
  /** host name in the broker's publicUrl; the provider must be on another site for the login to be cross-site */
  publicHost?: string
  /** where the provider and the API listen */
  providerHost?: string
  /** sessions and grants in this Redis; without it, in this process only */
  redisUrl?: string
  keyPrefix?: string
  logger?: Logger
  logLevel?: Config['logLevel']
  /** the demo mobile app's loopback redirect URI (default http://127.0.0.1:8765/callback) */
  mobileRedirectUri?: string
}

export interface DemoStack {
  /** the broker's public origin: the URL to open */
  url: string
  config: Config
  /** the key ring that seals grants at rest (tests open the grant with it) */
  tokenKeys: string[]
  /** the demo job client's secret, fresh each start (the config holds only its hash); npm run demo:job needs it */
  jobSecret: string
  idp: DemoProvider
  api: DemoApi
  broker: RunningBroker
  /** stops the broker (gracefully), then the API and the provider */
  stop(): Promise<void>
}

export const DEMO_CLIENT_ID = 'bff-demo'
export const DEMO_API_PATH = '/api/demo'

const secret = () => randomBytes(32).toString('base64url')

/** A loopback port that was free a moment ago: publicUrl needs the broker's port before it listens. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, host, () => {
      const address = probe.address()
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

export async function startDemoStack(opts: DemoStackOptions = {}): Promise<DemoStack> {
  const port = opts.port || (await freePort())
  const publicUrl = `http://${opts.publicHost ?? 'localhost'}:${port}`
  const clientSecret = secret()
  const tokenKeys = [secret()]
  const jobSecret = secret()
  const idp = await startDemoProvider({
    clientId: DEMO_CLIENT_ID,
    clientSecret,
    redirectUri: `${publicUrl}/bff/callback`,
    postLogoutRedirectUris: [`${publicUrl}/`],
    backchannelLogoutUri: `${publicUrl}/bff/backchannel-logout`,
    host: opts.providerHost,
  })
  const started: Array<{ stop(): Promise<void> }> = [idp]
  try {
    const api = await startDemoApi({ userinfoUrl: idp.userinfoUrl, host: opts.providerHost })
    started.unshift(api)
    const config = parseConfig(
      {
        publicUrl,
        port,
        logLevel: opts.logLevel ?? 'info',
        redis: { ...(opts.redisUrl ? { url: opts.redisUrl } : {}), keyPrefix: opts.keyPrefix ?? 'bff-demo:' },
        session: { secrets: [secret()] },
        tokens: { encryptionKeys: tokenKeys },
        provider: {
          issuer: idp.issuer,
          clientId: DEMO_CLIENT_ID,
          clientSecret,
          scopes: ['openid', 'profile', 'email', 'offline_access'],
          // oidc-provider issues a refresh token for offline_access only with prompt=consent (docs/architecture.md
          // "Dependency notes")
          authorizationParams: { prompt: 'consent' },
        },
        apis: [{ path: DEMO_API_PATH, target: api.url, token: 'user' }],
        frontend: { static: demoPageDirectory() },
        // npm run demo:mobile plays this app: system-browser login, then a DPoP-bound handle
        mobile: { apps: [{ clientId: DEMO_MOBILE_CLIENT_ID, redirectUris: [opts.mobileRedirectUri ?? demoMobileRedirectUri()] }] },
        // npm run demo:job plays this job: the demo API for a user who allowed background access (offline=1)
        jobs: { clients: [{ id: DEMO_JOB_CLIENT_ID, secretHash: secretHashOf(jobSecret), apis: [DEMO_API_PATH], onBehalfOf: true }] },
      },
      // the demo's settings are its own: BFF_* variables meant for a real deployment do not leak in
      {},
    )
    const broker = await startBroker(config, {
      logger: opts.logger,
      host: '127.0.0.1',
      port,
      allowInsecureHttp: true,
    })
    return {
      url: publicUrl,
      config,
      tokenKeys,
      jobSecret,
      idp,
      api,
      broker,
      async stop() {
        await broker.stop()
        for (const service of started) await service.stop()
      },
    }
  } catch (err) {
    for (const service of started) await service.stop()
    throw err
  }
}
