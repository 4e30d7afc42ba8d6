import type { IncomingMessage } from 'node:http'

// RFC 8693 token exchange for the test identity provider, registered with oidc-provider 9's
// `registerGrantType(name, handler, parameters)`: the subject is one of its own access tokens (looked up with
// `AccessToken.find`), and the answer an opaque access token whose `aud` is the requested audience, so a test
// can look the token up again and see what it was issued for.

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange'
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token'

export interface TokenExchangeOptions {
  /** audiences it exchanges for; any other is refused with invalid_target (RFC 8693 §2.2.2) */
  audiences: readonly string[]
  /** lifetime of an exchanged token (default: the access token TTL) */
  ttlSeconds?: number
}

/** What the tests read of an access token oidc-provider stored. */
export interface StoredAccessToken {
  accountId?: string
  clientId?: string
  aud?: string | string[]
  scope?: string
  gty?: string
  isExpired: boolean
}

interface AccessTokenInstance extends StoredAccessToken {
  scopes: Set<string>
  grantId?: string
  expiresIn?: number
  readonly expiration: number
  save(): Promise<string>
  destroy(): Promise<void>
}

export interface AccessTokenModel {
  new (payload: Record<string, unknown>): AccessTokenInstance
  find(value: string): Promise<AccessTokenInstance | undefined>
}

export type OAuthErrorClass = new (description?: string) => Error

export interface GrantTypeHost {
  AccessToken: AccessTokenModel
  registerGrantType(name: string, handler: (ctx: ExchangeContext) => Promise<void>, parameters: string[]): void
}

interface ExchangeContext {
  body: unknown
  req: IncomingMessage
  oidc: { params: Record<string, unknown>; client: unknown; entity(name: string, value: unknown): void }
}

const parameters = [
  'subject_token', 'subject_token_type', 'requested_token_type', 'audience', 'scope', 'actor_token', 'actor_token_type',
]

export function registerTokenExchange(
  provider: GrantTypeHost,
  options: TokenExchangeOptions,
  errors: { InvalidGrant: OAuthErrorClass; InvalidRequest: OAuthErrorClass; InvalidScope: OAuthErrorClass; InvalidTarget: OAuthErrorClass },
): void {
  provider.registerGrantType(TOKEN_EXCHANGE_GRANT, async (ctx) => {
    const params = ctx.oidc.params
    if (params.subject_token_type !== ACCESS_TOKEN_TYPE) throw new errors.InvalidRequest('unsupported subject_token_type')
    if (params.requested_token_type !== undefined && params.requested_token_type !== ACCESS_TOKEN_TYPE) {
      throw new errors.InvalidRequest('unsupported requested_token_type')
    }
    const subject = await provider.AccessToken.find(String(params.subject_token ?? ''))
    if (!subject || subject.isExpired) throw new errors.InvalidGrant('subject token is invalid or expired')
    const audience = typeof params.audience === 'string' ? params.audience : undefined
    if (audience !== undefined && !options.audiences.includes(audience)) throw new errors.InvalidTarget('audience not allowed')
    const scope = typeof params.scope === 'string' ? params.scope : [...subject.scopes].join(' ')
    // RFC 8693 §5: never more than the subject token carries
    if (scope.split(' ').some((s) => !subject.scopes.has(s))) throw new errors.InvalidScope('scope exceeds the subject token')
    const token = new provider.AccessToken({
      accountId: subject.accountId,
      client: ctx.oidc.client,
      grantId: subject.grantId,
      gty: 'token_exchange',
      scope,
      aud: audience,
    })
    if (options.ttlSeconds) token.expiresIn = options.ttlSeconds
    ctx.oidc.entity('AccessToken', token)
    const value = await token.save()
    ctx.body = {
      access_token: value,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      expires_in: token.expiration,
      scope,
    }
  }, parameters)
}
