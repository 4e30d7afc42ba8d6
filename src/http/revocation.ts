import type { OAuthProvider } from '../oauth/provider.js'
import type { Grant } from '../session/grant-store.js'
import type { Logger } from '../observability/logger.js'
import { LogEvents } from '../observability/log-events.js'

/**
 * RFC 7009 at the end of a grant: its refresh token, and every access token it still holds that has not expired
 * (`token_type_hint=access_token`, §2.1): a JWT access token otherwise stays valid at APIs that introspect it until
 * it expires, whatever became of the refresh token. Best effort: the grant is already gone on our side whatever the
 * provider answers, so a failure is one warning per token, never an error for the user.
 */
export async function revokeGrantTokens(
  deps: { provider: OAuthProvider; logger: Logger; now: () => number },
  grant: Pick<Grant, 'tokens' | 'apiTokens'>,
): Promise<void> {
  if (!deps.provider.hasRevocation()) return
  const nowSeconds = deps.now() / 1000
  const live = (expiresAt: number | undefined) => expiresAt === undefined || expiresAt > nowSeconds
  const accessTokens = [grant.tokens, ...Object.values(grant.apiTokens)]
    .filter((token) => live(token.expiresAt))
    .map((token) => token.accessToken)
  const revoke = (token: string, hint: 'refresh_token' | 'access_token') =>
    deps.provider.revoke(token, hint).catch((err: unknown) => {
      deps.logger.warn(
        { event: LogEvents.revocationFailed, hint, err: err instanceof Error ? err.message : String(err) },
        `${hint === 'refresh_token' ? 'refresh' : 'access'} token revocation failed`,
      )
    })
  const { refreshToken } = grant.tokens
  await Promise.all([
    ...(refreshToken ? [revoke(refreshToken, 'refresh_token')] : []),
    ...[...new Set(accessTokens)].map((token) => revoke(token, 'access_token')),
  ])
}
