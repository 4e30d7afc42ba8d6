import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose'
import { athFor, generateDpopKey, makeProof, pkceChallenge, type DpopKey } from '../../../examples/mobile-client.js'
import { sessionIdOfHandle } from '../../../src/mobile/handles.js'
import { createKeyRing } from '../../../src/session/keyring.js'
import type { Grant } from '../../../src/session/grant-store.js'
import type { BrokerSession } from '../../../src/session/session.js'
import { completeProviderLogin, createBrowser, type Browser } from '../../support/browser.js'
import { APP_REDIRECT, BEARER_APP, DPOP_APP, mobileConfig } from '../../support/mobile.js'
import type { TestBroker } from '../../support/start-app.js'
import { redisKeys } from '../../../src/session/keys.js'
import { rawRequest } from '../../support/raw-http.js'

// What the adversarial mobile tests share: a login driven by hand (so a test holds the code, the verifier and the
// key, and can present them wrongly), raw token requests, raw proofs, and a look at what the broker stored.

/** The broker config of the mobile tests: both test apps, an echo API and a WebSocket API. */
export const mobileBrokerConfig = (upstreamUrl: string, mobile: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  mobile: mobileConfig(mobile),
  apis: [
    { path: '/api/orders', target: `${upstreamUrl}/echo/v1`, token: 'user' },
    { path: '/api/ws', target: `${upstreamUrl}/ws`, token: 'user', websocket: true },
  ],
  ...extra,
})

export interface ManualLogin {
  clientId: string
  redirectUri: string
  /** the app's state, PKCE verifier and DPoP key */
  state: string
  verifier: string
  key: DpopKey
  /** where the broker sent the system browser back to, and the handoff code in it */
  location: string
  code: string
  browser: Browser
}

export function authorizeUrl(broker: TestBroker, params: Record<string, string | undefined>): string {
  const url = new URL('/bff/mobile/authorize', broker.origin)
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value)
  return url.href
}

/** The app's authorize parameters, each overridable (undefined leaves one out). */
export async function authorizeParams(opts: { clientId?: string; redirectUri?: string; key?: DpopKey } = {}) {
  const key = opts.key ?? (await generateDpopKey())
  const verifier = randomBytes(32).toString('base64url')
  const clientId = opts.clientId ?? DPOP_APP
  const params: Record<string, string | undefined> = {
    client_id: clientId,
    redirect_uri: opts.redirectUri ?? APP_REDIRECT,
    state: randomBytes(12).toString('base64url'),
    code_challenge: pkceChallenge(verifier),
    code_challenge_method: 'S256',
    dpop_jkt: clientId === BEARER_APP ? undefined : key.jkt,
  }
  return { key, verifier, params }
}

/** A whole system-browser login by hand, up to the redirect back to the app (the code is not redeemed). */
export async function manualLogin(
  broker: TestBroker,
  opts: { clientId?: string; redirectUri?: string; key?: DpopKey; user?: 'alice' | 'bob'; browser?: Browser } = {},
): Promise<ManualLogin> {
  const { key, verifier, params } = await authorizeParams(opts)
  const browser = opts.browser ?? createBrowser()
  const start = await browser.get(authorizeUrl(broker, params))
  if (start.status !== 302 || !start.location) throw new Error(`authorize answered ${start.status}: ${start.body}`)
  const user = opts.user ?? 'alice'
  const callback = await completeProviderLogin(browser, start.location, { login: user, password: user })
  const back = await browser.get(callback, { site: 'cross-site' })
  if (back.status !== 302 || !back.location) throw new Error(`callback answered ${back.status}: ${back.body}`)
  const code = new URL(back.location).searchParams.get('code')
  if (!code) throw new Error(`no code in ${back.location}`)
  return { clientId: params.client_id!, redirectUri: params.redirect_uri!, state: params.state!, verifier, key, location: back.location, code, browser }
}

/** A DPoP key whose private half exports, for a proof that (wrongly) puts the private JWK in its header. */
export async function extractableDpopKey(): Promise<{ key: DpopKey; privateJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  const publicJwk = await exportJWK(publicKey)
  const key = { alg: 'ES256', privateKey, publicJwk, jkt: await calculateJwkThumbprint(publicJwk, 'sha256') }
  return { key, privateJwk: await exportJWK(privateKey) }
}

/** A request written byte for byte, so a header can be sent twice (fetch would join the values); status and body. */
export async function rawCall(broker: TestBroker, method: string, path: string, headers: [string, string][], body = '') {
  const lines = [`${method} ${path} HTTP/1.1`, `Host: ${new URL(broker.origin).host}`, ...headers.map(([n, v]) => `${n}: ${v}`)]
  const head = [...lines, `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close'].join('\r\n')
  const { status, raw } = await rawRequest(broker.origin, `${head}\r\n\r\n${body}`)
  return { status, body: JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>, raw }
}

export const tokenUrl = (broker: TestBroker) => `${broker.origin}/bff/mobile/token`

/** A DPoP proof for one request to `url` (query dropped), with `ath` when a handle is given. */
export function proofFor(key: DpopKey, method: string, url: string, handle?: string, extra: { iat?: number } = {}) {
  const htu = new URL(url)
  htu.search = ''
  return makeProof(key, { htm: method, htu: htu.href, ...(handle !== undefined && { ath: athFor(handle) }), ...extra })
}

/**
 * POST /bff/mobile/token with the login's own values, any of them replaced (undefined leaves one out); `repeat` sends
 * one field twice, `json` sends the fields as a JSON body instead of a form.
 */
export async function redeem(
  broker: TestBroker,
  login: ManualLogin,
  opts: { fields?: Record<string, string | undefined>; proof?: string | null; repeat?: string; json?: boolean } = {},
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const fields: Record<string, string | undefined> = {
    grant_type: 'authorization_code',
    client_id: login.clientId,
    code: login.code,
    code_verifier: login.verifier,
    redirect_uri: login.redirectUri,
    ...opts.fields,
  }
  const form = new URLSearchParams()
  for (const [name, value] of Object.entries(fields)) if (value !== undefined) form.set(name, value)
  if (opts.repeat !== undefined) form.append(opts.repeat, fields[opts.repeat] ?? '')
  const headers: Record<string, string> = { 'content-type': opts.json ? 'application/json' : 'application/x-www-form-urlencoded' }
  const proof = opts.proof === undefined ? await proofFor(login.key, 'POST', tokenUrl(broker)) : opts.proof
  if (proof !== null && login.clientId !== BEARER_APP) headers.dpop = proof
  const body = opts.json ? JSON.stringify(Object.fromEntries(form)) : form.toString()
  const res = await fetch(tokenUrl(broker), { method: 'POST', headers, body })
  return { status: res.status, headers: res.headers, body: (await res.json().catch(() => ({}))) as Record<string, unknown> }
}

/** A request with a handle: `DPoP <handle>` and a fresh proof unless told otherwise. */
export async function withHandle(
  broker: TestBroker,
  path: string,
  handle: string,
  opts: { key?: DpopKey; proof?: string | null; scheme?: string; method?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  const method = opts.method ?? 'GET'
  const url = `${broker.origin}${path}`
  const headers: Record<string, string> = { authorization: `${opts.scheme ?? 'DPoP'} ${handle}`, ...opts.headers }
  const proof = opts.proof === undefined && opts.key ? await proofFor(opts.key, method, url, handle) : opts.proof
  if (typeof proof === 'string') headers.dpop = proof
  return fetch(url, { method, headers })
}

/** What Redis holds for a handle: its session record and grant (decrypted), and their PTTLs. */
export async function storedForHandle(broker: TestBroker, handle: string) {
  const sessionKey = `${broker.prefix}sess:${sessionIdOfHandle(handle)}`
  const redis = new Redis(broker.redisUrl)
  try {
    const raw = await redis.get(sessionKey)
    const session = raw ? (JSON.parse(raw) as { broker: BrokerSession }).broker : undefined
    const grantKey = session ? redisKeys(broker.prefix).grant(session.grantId) : undefined
    const sealed = grantKey ? await redis.get(grantKey) : null
    const ring = createKeyRing(broker.config.tokens.encryptionKeys)
    const grant = sealed && session ? (JSON.parse(ring.open(sealed, `grant:${session.grantId}`)) as Grant) : undefined
    return {
      sessionKey,
      grantKey,
      session,
      grant,
      sessionTtlMs: await redis.pttl(sessionKey),
      grantTtlMs: grantKey ? await redis.pttl(grantKey) : -2,
    }
  } finally {
    redis.disconnect()
  }
}

export const jsonOf = async (res: Response) => (await res.json()) as Record<string, unknown>

/** A login redeemed for its handle. */
export async function loggedIn(broker: TestBroker, opts: Parameters<typeof manualLogin>[1] = {}) {
  const login = await manualLogin(broker, opts)
  const answer = await redeem(broker, login)
  if (answer.status !== 200) throw new Error(`token request answered ${answer.status}: ${JSON.stringify(answer.body)}`)
  return { login, handle: answer.body.access_token as string, key: login.key, expiresIn: answer.body.expires_in as number }
}
