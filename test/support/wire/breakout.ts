import { expectBasic, formBody, oauthError, type WireDialectServer } from './server.js'

/**
 * Breakout (Spring Security OAuth): `POST /oauth/token` with the client in Basic, `Accept: application/json`
 * and a form body `username&password&grant_type=password&scope=read+write`; refresh with
 * `refresh_token&grant_type=refresh_token`; the user from `GET /me/` with the Bearer token. The /me/ answer
 * is not shown in the docs: this server answers `{ id, email }`.
 */
export function breakoutServer(users: Record<string, string>): WireDialectServer {
  const accessTokens = new Map<string, string>()
  const refreshTokens = new Map<string, string>()
  return {
    tokenPath: '/oauth/token',
    handle(req, ctx) {
      if (req.path === '/me/') {
        ctx.expect(req.method === 'GET', 'GET /me/')
        const auth = req.headers.authorization ?? ''
        const user = auth.startsWith('Bearer ') ? accessTokens.get(auth.slice(7)) : undefined
        return user ? { status: 200, body: { id: 42, email: user } } : oauthError('invalid_token', 401)
      }
      if (req.path !== '/oauth/token') return undefined
      const form = formBody(req, ctx)
      expectBasic(req, ctx)
      ctx.expect(String(req.headers.accept ?? '').includes('application/json'), 'Accept: application/json')
      const issue = (user: string) => {
        const access = ctx.token('bo-at')
        const refresh = ctx.token('bo-rt')
        accessTokens.set(access, user)
        refreshTokens.set(refresh, user)
        return ctx.ok({ access_token: access, token_type: 'bearer', refresh_token: refresh, expires_in: 42961, scope: 'read write' })
      }
      switch (form.get('grant_type')) {
        case 'password': {
          ctx.expect(form.get('scope') === 'read write', `scope must be "read write", got ${form.get('scope')}`)
          ctx.expect(req.body.includes('scope=read+write'), 'scope is form-encoded as read+write')
          const username = form.get('username') ?? ''
          if (users[username] === undefined || users[username] !== form.get('password')) {
            return oauthError('invalid_grant', 400, 'Bad credentials')
          }
          return issue(username)
        }
        case 'refresh_token': {
          const user = refreshTokens.get(form.get('refresh_token') ?? '')
          return user ? issue(user) : oauthError('invalid_grant')
        }
        default:
          return oauthError('unsupported_grant_type')
      }
    },
  }
}
