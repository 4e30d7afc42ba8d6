import { authorizeAnswer, formBody, oauthError, type WireDialectServer } from './server.js'

const noStore = { 'cache-control': 'no-store', pragma: 'no-cache' }

/**
 * The Identity Hub: `GET /{tenant}/oauth2/v1/auth/` (PKCE supported), `POST /{tenant}/oauth2/v1/token/` with a
 * form body holding the code and the App's credentials; the answer holds an access token, its validity and a
 * refresh token (Cache-Control: no-store, Pragma: no-cache), exchanged again at the same endpoint.
 */
export function identityHubServer(tenant: string): WireDialectServer {
  const authPath = `/${tenant}/oauth2/v1/auth/`
  const tokenPath = `/${tenant}/oauth2/v1/token/`
  const refreshTokens = new Set<string>()
  return {
    tokenPath,
    handle(req, ctx) {
      if (req.method === 'GET' && req.path === authPath) {
        ctx.expect(req.query.has('code_challenge'), 'PKCE code_challenge expected')
        return authorizeAnswer(req.query, ctx, 'code')
      }
      if (req.path !== tokenPath) return undefined
      const form = formBody(req, ctx)
      ctx.expect(req.headers.authorization === undefined, 'credentials are in the body, not in a header')
      ctx.expect(form.get('client_id') === ctx.opts.clientId && form.get('client_secret') === ctx.opts.clientSecret, 'client credentials in the body')
      const issue = () => {
        const refresh = ctx.token('ih-rt')
        refreshTokens.add(refresh)
        return ctx.ok({ access_token: ctx.token('ih-at'), token_type: 'Bearer', expires_in: 3600, refresh_token: refresh }, noStore)
      }
      switch (form.get('grant_type')) {
        case 'authorization_code': {
          const code = ctx.redeemCode(form.get('code') ?? undefined, form.get('redirect_uri') ?? undefined, form.get('code_verifier') ?? undefined)
          return code ? issue() : oauthError('invalid_grant')
        }
        case 'refresh_token':
          // rotation: a presented refresh token is spent
          return refreshTokens.delete(form.get('refresh_token') ?? '') ? issue() : oauthError('invalid_grant')
        default:
          return oauthError('unsupported_grant_type')
      }
    },
  }
}
