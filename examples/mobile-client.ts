// A reference mobile client of the broker (Node 20 built-ins and jose only): system-browser login with PKCE
// (RFC 7636, RFC 8252), the RFC 9207 `iss` check, redemption of the one-time code, then an opaque session handle
// sent with a fresh DPoP proof on every request (RFC 9449). An app ports this logic to its platform's key store.
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose'

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey']

export interface DpopKey {
  alg: string
  privateKey: PrivateKey
  publicJwk: JWK
  /** RFC 7638 SHA-256 thumbprint of publicJwk: the `dpop_jkt` the login is bound to */
  jkt: string
}

export interface ProofOptions {
  htm: string
  /** used as given (a query is kept, so tests can forge one) */
  htu: string
  ath?: string
  /** epoch seconds; default now; null leaves the claim out */
  iat?: number | null
  /** default a random UUID; null leaves the claim out */
  jti?: string | null
  typ?: string
  alg?: string
  /** the key put in the header; default the signing key's public half */
  jwk?: JWK
}

export interface MobileClientOptions {
  brokerUrl: string
  clientId: string
  redirectUri: string
  /** default true; false for a `dpop: false` app (a plain Bearer handle) */
  dpop?: boolean
  /** the broker's basePath (default /bff) */
  basePath?: string
  fetch?: typeof fetch
  /** epoch ms, for the proofs' iat */
  now?: () => number
}

export interface TokenResponse {
  accessToken: string
  tokenType: string
  expiresIn: number
}

export class MobileClientError extends Error {
  constructor(
    readonly code: string,
    readonly status?: number,
  ) {
    super(status === undefined ? code : `${code} (HTTP ${status})`)
    this.name = 'MobileClientError'
  }
}

const b64url = (bytes: Buffer) => bytes.toString('base64url')
export const sha256b64url = (value: string) => b64url(createHash('sha256').update(value).digest())
export const pkceChallenge = (verifier: string) => sha256b64url(verifier)
/** the `ath` claim for a handle (RFC 9449 §4.2) */
export const athFor = (accessToken: string) => sha256b64url(accessToken)

/** ES256 by default; the private key is not extractable (RFC 9449 §2: it never leaves the device). */
export async function generateDpopKey(alg = 'ES256'): Promise<DpopKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: false })
  const publicJwk = await exportJWK(publicKey)
  return { alg, privateKey, publicJwk, jkt: await calculateJwkThumbprint(publicJwk, 'sha256') }
}

export function makeProof(key: DpopKey, options: ProofOptions): Promise<string> {
  const claims: Record<string, unknown> = { htm: options.htm, htu: options.htu }
  if (options.iat !== null) claims.iat = options.iat ?? Math.floor(Date.now() / 1000)
  if (options.jti !== null) claims.jti = options.jti ?? randomUUID()
  if (options.ath !== undefined) claims.ath = options.ath
  const header = { alg: options.alg ?? key.alg, typ: options.typ ?? 'dpop+jwt', jwk: options.jwk ?? key.publicJwk }
  return new SignJWT(claims).setProtectedHeader(header).sign(key.privateKey)
}

// fetch upper-cases only these methods (Fetch standard, "normalize a method"); htm must equal what is sent
const NORMALIZED_METHODS = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']
const normalizeMethod = (method: string) =>
  NORMALIZED_METHODS.includes(method.toUpperCase()) ? method.toUpperCase() : method

export function createMobileClient(options: MobileClientOptions) {
  const dpop = options.dpop ?? true
  const http = options.fetch ?? globalThis.fetch
  const now = options.now ?? Date.now
  const broker = new URL(options.brokerUrl)
  const endpoint = (path: string) => new URL(`${options.basePath ?? '/bff'}/mobile${path}`, broker.origin).href
  let key: DpopKey | undefined
  let pending: { state: string; codeVerifier: string } | undefined
  let codeVerifier: string | undefined
  let session: (TokenResponse & { expiresAt: number }) | undefined

  async function ensureKey(): Promise<DpopKey> {
    key ??= await generateDpopKey()
    return key
  }

  /** a fresh proof for one request: htu without query or fragment, ath of the handle once there is one */
  const proof = (method: string, url: string) => proofFor(method, url, session?.accessToken)

  async function proofFor(method: string, url: string, accessToken: string | undefined): Promise<string> {
    const htu = new URL(url)
    htu.search = ''
    htu.hash = ''
    const ath = accessToken === undefined ? {} : { ath: athFor(accessToken) }
    return makeProof(await ensureKey(), { htm: method, htu: htu.href, iat: Math.floor(now() / 1000), ...ath })
  }

  async function authorizeUrl(): Promise<{ url: string; state: string }> {
    pending = { state: b64url(randomBytes(16)), codeVerifier: b64url(randomBytes(32)) }
    const url = new URL(endpoint('/authorize'))
    const params = url.searchParams
    params.set('client_id', options.clientId)
    params.set('redirect_uri', options.redirectUri)
    params.set('state', pending.state)
    params.set('code_challenge', pkceChallenge(pending.codeVerifier))
    params.set('code_challenge_method', 'S256')
    if (dpop) params.set('dpop_jkt', (await ensureKey()).jkt)
    return { url: url.href, state: pending.state }
  }

  /** checks the redirect back to the app (state, then RFC 9207 iss) and returns the one-time code */
  function handleRedirect(redirectUrl: string): { code: string } {
    const params = new URL(redirectUrl).searchParams
    const expected = pending
    pending = undefined
    if (!expected || params.get('state') !== expected.state) throw new MobileClientError('state_mismatch')
    const iss = params.get('iss')
    if (iss !== null && iss !== broker.origin) throw new MobileClientError('iss_mismatch')
    const error = params.get('error')
    if (error) throw new MobileClientError(error)
    if (iss === null) throw new MobileClientError('iss_missing')
    const code = params.get('code')
    if (!code) throw new MobileClientError('code_missing')
    codeVerifier = expected.codeVerifier
    return { code }
  }

  async function redeem(code: string): Promise<TokenResponse> {
    if (!codeVerifier) throw new MobileClientError('no_pending_login')
    const form = new URLSearchParams({ grant_type: 'authorization_code', client_id: options.clientId, code })
    form.set('code_verifier', codeVerifier)
    form.set('redirect_uri', options.redirectUri)
    codeVerifier = undefined
    const url = endpoint('/token')
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' }
    if (dpop) headers.dpop = await proofFor('POST', url, undefined) // no handle yet, so no ath
    const response = await http(url, { method: 'POST', headers, body: form.toString() })
    const body = (await response.json().catch(() => ({}))) as Record<string, unknown>
    if (!response.ok) throw new MobileClientError(String(body.error ?? 'token_request_failed'), response.status)
    const { access_token: accessToken, token_type: tokenType, expires_in: expiresIn } = body
    const expectedType = dpop ? 'dpop' : 'bearer'
    if (typeof accessToken !== 'string' || typeof tokenType !== 'string' || typeof expiresIn !== 'number') {
      throw new MobileClientError('invalid_token_response', response.status)
    }
    if (tokenType.toLowerCase() !== expectedType) throw new MobileClientError('unexpected_token_type')
    session = { accessToken, tokenType, expiresIn, expiresAt: now() + expiresIn * 1000 }
    return { accessToken, tokenType, expiresIn }
  }

  async function authorizedFetch(pathOrUrl: string, init: RequestInit = {}): Promise<Response> {
    const url = new URL(pathOrUrl, broker.origin)
    // the handle is a credential of the broker only: never send it elsewhere
    if (url.origin !== broker.origin) throw new MobileClientError('foreign_origin')
    if (!session) throw new MobileClientError('not_logged_in')
    const method = normalizeMethod(init.method ?? 'GET')
    const headers = new Headers(init.headers)
    headers.set('authorization', `${dpop ? 'DPoP' : 'Bearer'} ${session.accessToken}`)
    if (dpop) headers.set('dpop', await proofFor(method, url.href, session.accessToken))
    return http(url.href, { ...init, method, headers })
  }

  async function logout(): Promise<void> {
    const response = await authorizedFetch(endpoint('/logout'), { method: 'POST' })
    session = undefined
    await response.body?.cancel()
    if (response.status !== 204) throw new MobileClientError('logout_failed', response.status)
  }

  return {
    generateKeyPair: async () => (key = await generateDpopKey()),
    get key() {
      return key
    },
    get session() {
      return session
    },
    authorizeUrl,
    handleRedirect,
    redeem,
    completeLogin: (redirectUrl: string) => redeem(handleRedirect(redirectUrl).code),
    proof,
    fetch: authorizedFetch,
    logout,
  }
}

export type MobileClient = ReturnType<typeof createMobileClient>
