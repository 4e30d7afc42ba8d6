import type { RequestHandler } from 'express'
import type { MobileApp } from '../../../config/types.js'
import { invalidRequest } from '../../../errors.js'
import { beginLogin, enforceAddressLimit, type LoginRouteDeps } from '../login.js'
import { appRedirect } from './app-redirect.js'

// RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is 43 characters; RFC 9449 §10 / RFC 7638: so is a SHA-256 jkt
const s256Pattern = /^[A-Za-z0-9_-]{43}$/
const maxStateLength = 512

const single = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined)

/**
 * GET /bff/mobile/authorize, opened by a mobile app in the system browser (RFC 8252). The app is a public client of
 * the broker: its client_id and exact redirect_uri are checked first, and until both are known good nothing is
 * redirected anywhere (RFC 6749 §4.1.2.1). Then the app's PKCE challenge (S256 only) and, for DPoP apps, its key
 * thumbprint; their errors go back to the app. Then the ordinary login, remembering whose it is.
 */
export function createMobileAuthorizeRoute(deps: LoginRouteDeps & { apps: readonly MobileApp[]; publicUrl: URL }): RequestHandler {
  const apps = new Map(deps.apps.map((app) => [app.clientId, app]))
  return async (req, res) => {
    await enforceAddressLimit(req, res, deps, deps.loginLimit)
    const clientId = single(req.query.client_id)
    const app = clientId === undefined ? undefined : apps.get(clientId)
    if (!app) throw invalidRequest({ message: 'Unknown client_id.', detail: 'mobile authorize: unknown client' })
    const redirectUri = single(req.query.redirect_uri)
    // exact string comparison (RFC 8252 §8.4, RFC 9700 §4.1.3): no prefix, no normalisation
    if (redirectUri === undefined || !app.redirectUris.includes(redirectUri)) {
      throw invalidRequest({ message: 'redirect_uri is not registered for this client.', detail: 'mobile authorize: redirect_uri' })
    }
    const state = single(req.query.state)
    const back = (error: string, description: string) =>
      res.set('Cache-Control', 'no-store').redirect(302, appRedirect(redirectUri, deps.publicUrl, { state, error, error_description: description }))
    // RFC 6749 §3.1: no parameter more than once (a repeated state is not echoed: which one would be the app's?)
    if (Object.values(req.query).some(Array.isArray)) return back('invalid_request', 'a parameter is repeated')
    if (state !== undefined && (state.length === 0 || state.length > maxStateLength)) {
      return back('invalid_request', `state must be 1 to ${maxStateLength} characters`)
    }
    const codeChallenge = single(req.query.code_challenge)
    if (codeChallenge === undefined || !s256Pattern.test(codeChallenge)) return back('invalid_request', 'code_challenge (S256) is required')
    if (req.query.code_challenge_method !== 'S256') return back('invalid_request', 'code_challenge_method must be S256')
    const dpopJkt = single(req.query.dpop_jkt)
    if (app.dpop && (dpopJkt === undefined || !s256Pattern.test(dpopJkt))) return back('invalid_request', 'dpop_jkt is required')
    await beginLogin(req, res, deps, {
      returnTo: '/',
      mobile: { clientId: app.clientId, redirectUri, state, codeChallenge, ...(app.dpop && { dpopJkt }) },
    })
  }
}
