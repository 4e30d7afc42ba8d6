import { authorizeAnswer, oauthError, type WireDialectServer } from './server.js'

// The docs give no token path; tests configure provider.tokenEndpoint to this one.
export const samsungTokenPath = '/auth/oauth2/token'

const documentedFields = ['client_id', 'client_secret', 'grant_type', 'code', 'redirect_uri']

/**
 * Samsung Account (Knox Cloud Services): `GET /accounts/dfltThirdParty/signInGate?client_id&response_type=CODE
 * &redirect_uri&state`, then a token request whose body is JSON `{client_id, client_secret, grant_type, code,
 * redirect_uri}`, answered with `access_token_expires_in`, `refresh_token: -1` and `userId`.
 */
export function samsungAccountServer(): WireDialectServer {
  return {
    tokenPath: samsungTokenPath,
    handle(req, ctx) {
      if (req.method === 'GET' && req.path === '/accounts/dfltThirdParty/signInGate') {
        return authorizeAnswer(req.query, ctx, 'CODE')
      }
      if (req.path !== samsungTokenPath) return undefined
      ctx.expect(req.method === 'POST', 'method must be POST')
      const type = String(req.headers['content-type'] ?? '')
      ctx.expect(type.startsWith('application/json'), `content-type must be application/json, got ${type}`)
      ctx.expect(req.headers.authorization === undefined, 'no Authorization header: the client is in the JSON body')
      let body: Record<string, unknown> = {}
      try {
        body = JSON.parse(req.body) as Record<string, unknown>
      } catch {
        ctx.expect(false, 'body is not JSON')
      }
      for (const f of documentedFields) ctx.expect(typeof body[f] === 'string', `JSON field ${f} missing`)
      // the PKCE verifier is the one field beyond the documented five (RFC 7636 §4.5)
      for (const f of Object.keys(body)) ctx.expect([...documentedFields, 'code_verifier'].includes(f), `unexpected JSON field ${f}`)
      ctx.expect(body.client_id === ctx.opts.clientId && body.client_secret === ctx.opts.clientSecret, 'client credentials')
      if (body.grant_type !== 'authorization_code') return oauthError('unsupported_grant_type')
      const code = ctx.redeemCode(body.code as string, body.redirect_uri as string, body.code_verifier as string | undefined)
      if (!code) return oauthError('invalid_grant')
      return ctx.ok({
        access_token: ctx.token('sa-at'),
        token_type: 'Bearer',
        access_token_expires_in: 3600,
        expires_in: 3600,
        refresh_token: -1,
        refresh_token_expires_in: -1,
        userId: 'y0zpz',
      })
    },
  }
}
