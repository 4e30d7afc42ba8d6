import { authorizeAnswer, expectBasic, formBody, oauthError, type WireDialectServer } from './server.js'

/**
 * SAMI, "OAuth2 flow examples": `GET /authorize?...&response_type=code&scope=read,write`, then `POST /token`
 * with `Authorization: Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW` (s6BhdRkqt3:gX1fBat3bV) and a form body, for the
 * authorization code, refresh and client credentials grants. Scopes are comma-separated.
 */
export function samiServer(): WireDialectServer {
  const refreshTokens = new Set<string>()
  return {
    tokenPath: '/token',
    handle(req, ctx) {
      if (req.method === 'GET' && req.path === '/authorize') {
        ctx.expect(req.query.get('scope') === 'read,write', `scope must be read,write, got ${req.query.get('scope')}`)
        return authorizeAnswer(req.query, ctx, 'code')
      }
      if (req.path !== '/token') return undefined
      const form = formBody(req, ctx)
      expectBasic(req, ctx)
      ctx.expect(!form.has('client_secret'), 'the secret belongs in the Basic header only')
      const issue = () => {
        const refresh = ctx.token('sami-rt')
        refreshTokens.add(refresh)
        return ctx.ok({ access_token: ctx.token('sami-at'), token_type: 'bearer', expires_in: 3600, refresh_token: refresh })
      }
      switch (form.get('grant_type')) {
        case 'authorization_code': {
          const code = ctx.redeemCode(form.get('code') ?? undefined, form.get('redirect_uri') ?? undefined, form.get('code_verifier') ?? undefined)
          return code ? issue() : oauthError('invalid_grant')
        }
        case 'refresh_token': {
          const presented = form.get('refresh_token') ?? ''
          if (!refreshTokens.delete(presented)) return oauthError('invalid_grant')
          return issue()
        }
        case 'client_credentials':
          ctx.expect(form.get('scope') === 'read,write', `scope must be read,write, got ${form.get('scope')}`)
          return ctx.ok({ access_token: ctx.token('sami-cc'), token_type: 'bearer', expires_in: 3600 })
        default:
          return oauthError('unsupported_grant_type')
      }
    },
  }
}
