import { athFor, createMobileClient, makeProof, type MobileClient } from '../../examples/mobile-client.js'
import { DEMO_MOBILE_CLIENT_ID, demoMobileRedirectUri } from '../../src/demo/mobile.js'
import { catchRedirect, pastedRedirect } from './redirect.js'

// The core of `npm run demo:mobile`: the demo's mobile app, played step by step against a running demo with the
// reference client (examples/mobile-client.ts). The CLI wires it to a human; the test wires it to a test browser.

export interface MobileDemoOptions {
  /** the broker's publicUrl origin (proofs' htu and the redirect's iss are checked against it) */
  brokerUrl: string
  clientId?: string
  redirectUri?: string
  apiPath?: string
  /** one line per step */
  log: (line: string) => void
  /** called with the authorize URL once the loopback listener is up: a human opens it, a test drives a browser */
  open?: (authorizeUrl: string) => Promise<void> | void
  /** lines a human types: a pasted redirect URL counts as the redirect */
  pasted?: AsyncIterable<string>
}

export interface MobileDemoResult {
  sub: string
  tokenType: string
  /** the handle's first characters only: the handle is a credential */
  handlePrefix: string
  statuses: { user: number; api: number; replay: number; logout: number; afterLogout: number }
}

/** Enough of the handle to recognise it in the broker's session list, too little to use it. */
export const handlePrefix = (handle: string) => `${handle.slice(0, 11)}…`

export async function runMobileDemo(opts: MobileDemoOptions): Promise<MobileDemoResult> {
  const redirectUri = opts.redirectUri ?? demoMobileRedirectUri()
  const client = createMobileClient({ brokerUrl: opts.brokerUrl, clientId: opts.clientId ?? DEMO_MOBILE_CLIENT_ID, redirectUri })
  const key = await client.generateKeyPair()
  opts.log(`1. device key pair made (${key.alg}, private key not extractable); its thumbprint dpop_jkt = ${key.jkt}`)
  const catcher = await catchRedirect(redirectUri)
  let redirect: string
  try {
    const { url } = await client.authorizeUrl()
    opts.log('2. open this URL in a browser (the app would open the system browser) and log in as alice/alice or bob/bob:')
    opts.log(`   ${url}`)
    opts.log(catcher.listening
      ? `   waiting for the redirect on ${redirectUri} (or paste here the URL the browser ends on)`
      : `   ${redirectUri} is taken: paste here the URL the browser ends on`)
    const pasted = opts.pasted ? [pastedRedirect(opts.pasted, redirectUri)] : []
    const opened = Promise.resolve(opts.open?.(url)).then(() => new Promise<string>(() => undefined))
    redirect = await Promise.race([catcher.redirect, ...pasted, opened])
  } finally {
    await catcher.close()
  }
  const back = new URL(redirect)
  opts.log(`3. redirect back to the app: code (${back.searchParams.get('code')?.length ?? 0} characters, one use), state matches, iss ${back.searchParams.get('iss')}`)
  const token = await client.completeLogin(redirect)
  opts.log(`4. POST /bff/mobile/token with a DPoP proof → ${token.tokenType} handle ${handlePrefix(token.accessToken)} (expires in ${token.expiresIn} s)`)
  return useHandle(client, token.accessToken, token.tokenType, opts)
}

async function useHandle(client: MobileClient, handle: string, tokenType: string, opts: MobileDemoOptions): Promise<MobileDemoResult> {
  const apiPath = opts.apiPath ?? '/api/demo/orders'
  const userRes = await client.fetch('/bff/user')
  const user = (await userRes.json()) as { sub: string; name?: string }
  opts.log(`5. GET /bff/user (Authorization: DPoP ${handlePrefix(handle)}, DPoP: a fresh proof) → ${userRes.status} sub=${user.sub}${user.name ? ` name=${user.name}` : ''}`)

  // one proof by hand, sent twice: the second time the broker has seen its jti (RFC 9449 §11.1)
  const apiUrl = new URL(apiPath, opts.brokerUrl).href
  const proof = await client.proof('GET', apiUrl)
  const headers = { authorization: `DPoP ${handle}`, dpop: proof }
  const apiRes = await fetch(apiUrl, { headers })
  const api = (await apiRes.json()) as { message?: string }
  opts.log(`6. GET ${apiPath} → ${apiRes.status}: ${api.message ?? JSON.stringify(api)}`)
  opts.log('   (the broker attached the provider access token; the app never held it)')
  const replay = await fetch(apiUrl, { headers })
  const replayBody = await replay.text()
  opts.log(`7. the same request again with the same proof → ${replay.status} ${replayBody} (${replay.headers.get('www-authenticate')})`)

  await client.logout()
  opts.log('8. POST /bff/mobile/logout → 204: the session ended, the refresh token was revoked at the provider')
  const userUrl = new URL('/bff/user', opts.brokerUrl).href
  const fresh = await makeProof(client.key!, { htm: 'GET', htu: userUrl, ath: athFor(handle) })
  const after = await fetch(userUrl, { headers: { authorization: `DPoP ${handle}`, dpop: fresh } })
  await after.body?.cancel()
  opts.log(`9. GET /bff/user with the old handle and a fresh proof → ${after.status}: the handle is dead`)
  return {
    sub: user.sub,
    tokenType,
    handlePrefix: handlePrefix(handle),
    statuses: { user: userRes.status, api: apiRes.status, replay: replay.status, logout: 204, afterLogout: after.status },
  }
}
