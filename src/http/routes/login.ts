import { createHash, randomBytes } from 'node:crypto'
import type { Request, RequestHandler, Response } from 'express'
import type { OAuthProvider } from '../../oauth/provider.js'
import type { LoginTransactions } from '../../session/login-transactions.js'
import { LOGIN_TRANSACTION_TTL_MS } from '../../session/login-transactions.js'
import type { Logger } from '../../observability/logger.js'
import { LogEvents } from '../../observability/log-events.js'
import { readCookieValue } from '../../session/http-session.js'
import { invalidRequest } from '../../errors.js'
import { safeReturnTo } from '../return-to.js'

export interface LoginRouteDeps {
  provider: OAuthProvider
  transactions: LoginTransactions
  logger: Logger
  publicUrl: URL
  redirectUri: string
  allowedReturnOrigins: readonly string[]
  openid: boolean
  loginCookie: { name: string; secure: boolean }
  now: () => number
}

const random = () => randomBytes(32).toString('base64url')
export const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url')
const BINDING_PATTERN = /^[A-Za-z0-9_-]{43}$/

/**
 * The browser binding: a random value in an HttpOnly SameSite=Lax cookie (it must survive the provider's top-level
 * redirect back, which a Strict cookie would not). One value per browser serves several logins at once (two tabs);
 * each login has its own state record holding the value's hash.
 */
export function loginBinding(req: Request, res: Response, cookie: LoginRouteDeps['loginCookie']): string {
  const existing = readCookie(req, cookie.name)
  const value = existing && BINDING_PATTERN.test(existing) ? existing : random()
  res.cookie(cookie.name, value, {
    httpOnly: true,
    secure: cookie.secure,
    sameSite: 'lax',
    path: '/',
    maxAge: LOGIN_TRANSACTION_TTL_MS,
  })
  return value
}

export const readCookie = (req: Request, name: string) => readCookieValue(req.headers.cookie, name)

/** GET /bff/login?returnTo=/path → 302 to the authorization endpoint (code flow, PKCE S256, state, nonce). */
export function createLoginRoute(deps: LoginRouteDeps): RequestHandler {
  return async (req, res) => {
    const returnTo = safeReturnTo(req.query.returnTo, deps.publicUrl, deps.allowedReturnOrigins)
    if (!returnTo) throw invalidRequest({ message: 'returnTo must be a relative path on this site.' })
    await deps.provider.ensureReady()
    const state = random()
    const codeVerifier = random()
    const nonce = deps.openid ? random() : undefined
    const binding = loginBinding(req, res, deps.loginCookie)
    await deps.transactions.begin(state, {
      bindingHash: sha256(binding),
      codeVerifier,
      nonce,
      returnTo,
      createdAt: deps.now(),
    })
    const url = await deps.provider.authorizationUrl({
      state,
      nonce,
      codeChallenge: sha256(codeVerifier),
      redirectUri: deps.redirectUri,
    })
    deps.logger.info({ event: LogEvents.loginStarted }, 'login started')
    res.set('Cache-Control', 'no-store').redirect(302, url.href)
  }
}
