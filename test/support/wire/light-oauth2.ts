import { authorizeAnswer, expectBasic, formBody, oauthError, type WireDialectServer } from './server.js'

/**
 * networknt light-oauth2, "OAuth2 Introduction": `GET /oauth2/code?response_type=code&client_id&redirect_uri`,
 * `POST /oauth2/token` with the client in Basic and a form body, for the code and client credentials grants;
 * the answers carry a JWT access token, `token_type: bearer`, `expires_in: 600`, and no refresh token.
 */
export function lightOauth2Server(): WireDialectServer {
  // a JWT-shaped opaque value, as in the documented answer (the broker never parses access tokens)
  const jwtLike = (sub: string) => `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify({ sub })).toString('base64url')}.c2ln`
  return {
    tokenPath: '/oauth2/token',
    handle(req, ctx) {
      if (req.method === 'GET' && req.path === '/oauth2/code') return authorizeAnswer(req.query, ctx, 'code')
      if (req.path !== '/oauth2/token') return undefined
      const form = formBody(req, ctx)
      expectBasic(req, ctx)
      switch (form.get('grant_type')) {
        case 'authorization_code': {
          const code = ctx.redeemCode(form.get('code') ?? undefined, form.get('redirect_uri') ?? undefined, form.get('code_verifier') ?? undefined)
          if (!code) return oauthError('invalid_grant')
          return ctx.ok({ access_token: jwtLike('stevehu'), token_type: 'bearer', expires_in: 600 })
        }
        case 'client_credentials':
          return ctx.ok({ access_token: jwtLike(ctx.opts.clientId), token_type: 'bearer', expires_in: 600 })
        default:
          return oauthError('unsupported_grant_type')
      }
    },
  }
}
