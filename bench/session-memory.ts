import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import { table } from './lib/load.js'
import { startRedisServer, keysWithPrefix } from '../test/support/redis.js'
import { createBrowser, login, startBrokerWithProvider } from '../test/support/start-app.js'
import { createOpenIdClientProvider } from '../src/oauth/openid-client-provider.js'
import { createLogger } from '../src/observability/logger.js'
import { testConfig } from '../test/support/start-app.js'
import type { OAuthProvider, TokenSet } from '../src/oauth/provider.js'

// Redis bytes per logged-in browser session (issue 10, item 5): N logins through the real broker, the real
// oidc-provider (its real, signed ID token) and a dedicated redis-server, then MEMORY USAGE of every key they
// created. The provider's opaque access and refresh tokens are swapped for realistic sizes on the way in (a ~1 KB
// JWT access token, a JWT-sized refresh token) so the figure matches what a production IdP issues.
//
//   npm run bench:memory
//   npm run bench:memory -- --sessions 200 --access-token-bytes 1500 --refresh-token-bytes 800

const { values: args } = parseArgs({
  options: {
    sessions: { type: 'string', default: '50' },
    'access-token-bytes': { type: 'string', default: '1024' },
    'refresh-token-bytes': { type: 'string', default: '700' },
  },
})
const sessions = Number(args.sessions)
const atBytes = Number(args['access-token-bytes'])
const rtBytes = Number(args['refresh-token-bytes'])

/** A JWT-shaped token of about `bytes` characters (header.payload.signature, base64url). */
function jwtOfSize(bytes: number): string {
  const header = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'at+jwt', kid: 'k1' })).toString('base64url')
  const signature = randomBytes(256).toString('base64url') // RS256: 256 bytes
  const payloadChars = Math.max(16, bytes - header.length - signature.length - 2)
  return `${header}.${randomBytes(Math.ceil((payloadChars * 3) / 4)).toString('base64url').slice(0, payloadChars)}.${signature}`
}

/** The real provider, with the access and refresh tokens of its answers replaced by realistic sizes. */
function withRealisticTokens(real: OAuthProvider): OAuthProvider {
  const resize = (t: TokenSet): TokenSet => ({
    ...t,
    accessToken: jwtOfSize(atBytes),
    ...(t.refreshToken !== undefined && { refreshToken: jwtOfSize(rtBytes) }),
  })
  return { ...real, exchangeCode: async (...a) => resize(await real.exchangeCode(...a)) } as OAuthProvider
}

const redis = await startRedisServer()
const name = 'session-memory'
const logger = createLogger({ level: 'silent' })
let lastTokens: TokenSet | undefined
const provider = (issuer: string, port: number): OAuthProvider => {
  const config = testConfig({ name, port, issuer, redisUrl: redis.url })
  const resized = withRealisticTokens(createOpenIdClientProvider({ config: config.provider, logger, allowInsecureHttp: true }))
  return {
    ...resized,
    exchangeCode: async (...a) => (lastTokens = await resized.exchangeCode(...a)),
  } as OAuthProvider
}
const bed = await startBrokerWithLazyProvider()
const client = new Redis(redis.url)
try {
  for (let i = 0; i < sessions; i++) {
    const res = await login(createBrowser(), bed.broker)
    if (res.res.status !== 302) throw new Error(`login ${i} failed: ${res.res.status}`)
  }
  const keys = await keysWithPrefix(redis.url, bed.broker.prefix)
  const byKind = new Map<string, { keys: number; bytes: number }>()
  for (const { key } of keys) {
    const kind = kindOf(key.slice(bed.broker.prefix.length))
    const bytes = Number(await client.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'))
    const entry = byKind.get(kind) ?? { keys: 0, bytes: 0 }
    byKind.set(kind, { keys: entry.keys + 1, bytes: entry.bytes + bytes })
  }
  report(byKind, await sampleValueSizes(client, bed.broker.prefix))
} finally {
  client.disconnect()
  await bed.stop()
  await redis.stop()
}

async function startBrokerWithLazyProvider() {
  // the broker's port is known only once it is chosen: build the provider from the issuer and port it gets
  const { freePort } = await import('../test/support/redis.js')
  const port = await freePort()
  const { startOidcProvider } = await import('../test/support/oidc-provider.js')
  const { startTestBroker } = await import('../test/support/start-app.js')
  const idp = await startOidcProvider({ redirectUris: [`http://127.0.0.1:${port}/bff/callback`] })
  const broker = await startTestBroker({ name, port, issuer: idp.issuer, redisUrl: redis.url, provider: provider(idp.issuer, port), config: { logLevel: 'silent' } })
  return { broker, stop: async () => { await broker.stop(); await idp.stop() } }
}

/** `sess:…` → sess, `idx:sub:alice` → idx:sub: the kind of record a key holds. */
function kindOf(key: string): string {
  const parts = key.split(':')
  return parts[0] === 'idx' || parts[0] === 'pub' || parts[0] === 'rl' ? `${parts[0]}:${parts[1]}` : (parts[0] ?? key)
}

async function sampleValueSizes(c: Redis, prefix: string) {
  const [sessKey] = (await c.keys(`${prefix}sess:*`))
  const [grantKey] = (await c.keys(`${prefix}grant:*`))
  return { session: (await c.strlen(sessKey!)), grant: (await c.strlen(grantKey!)), sessionJson: await c.get(sessKey!) }
}

function report(byKind: Map<string, { keys: number; bytes: number }>, sample: { session: number; grant: number; sessionJson: string | null }) {
  // transient login keys (state replay guard, rate-limit windows) expire within minutes: not part of a session
  const isTransient = (kind: string) => kind === 'login-used' || kind === 'login' || kind.startsWith('rl:')
  const rows = [['key kind', 'keys', 'bytes (MEMORY USAGE)', 'per session']]
  let perSession = 0
  for (const [kind, { keys, bytes }] of [...byKind].sort()) {
    const share = bytes / sessions
    if (!isTransient(kind)) perSession += share
    rows.push([kind + (isTransient(kind) ? ' (transient)' : ''), String(keys), String(bytes), share.toFixed(0)])
  }
  const t = lastTokens!
  const tokenBytes = t.accessToken.length + (t.refreshToken?.length ?? 0) + (t.idToken?.length ?? 0)
  console.log(`\n${sessions} browser sessions (one user), access token ${t.accessToken.length} B, refresh token ${t.refreshToken?.length ?? 0} B, ID token ${t.idToken?.length ?? 0} B\n`)
  console.log(table(rows))
  console.log(`\nsession record value: ${sample.session} B   sealed grant value: ${sample.grant} B`)
  console.log(`session record: ${sample.sessionJson}`)
  console.log(`\nbytes per session: ${perSession.toFixed(0)}`)
  console.log(`token bytes:       ${tokenBytes} (access + refresh + ID token)`)
  console.log(`overhead:          ${(perSession - tokenBytes).toFixed(0)} (${((perSession / tokenBytes - 1) * 100).toFixed(0)}% over the tokens)`)
  console.log(`1 million sessions: ${(perSession / 1024 / 1024 * 1e6 / 1024).toFixed(2)} GiB; 10 million: ${(perSession / 1024 / 1024 * 1e7 / 1024).toFixed(1)} GiB (before Redis's own per-instance overhead and replicas)`)
}
