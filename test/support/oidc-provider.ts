import { EventEmitter } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parse as parseQuery } from 'node:querystring'
import { loopbackFetch, quietNotices } from '../../src/demo/provider.js'
import {
  registerTokenExchange, TOKEN_EXCHANGE_GRANT, type AccessTokenModel, type GrantTypeHost, type OAuthErrorClass,
  type TokenExchangeOptions,
} from './token-exchange-grant.js'

// A real oidc-provider v9 on loopback, configured per test file like oidc-provider's own
// `<feature>.config.js`. oidc-provider ships no type declarations, so it is loaded through a
// non-literal specifier and typed here by the little we touch (see OidcProvider).

export const TEST_CLIENT_ID = 'bff'
export const TEST_CLIENT_SECRET = 'bff-secret-for-tests-only-0123456789abcdef'

/** The dev login form accepts only these login/password pairs (checked by a middleware below). */
export const TEST_ACCOUNTS = {
  alice: { password: 'alice', claims: { sub: 'alice', name: 'Alice Liddell', email: 'alice@example.test', email_verified: true } },
  bob: { password: 'bob', claims: { sub: 'bob', name: 'Bob Builder', email: 'bob@example.test', email_verified: true } },
  // a subject as some providers shape them (a URL: '/' and ':'), which the admin API's paths carry percent-encoded
  'https://idp.example/u/carol': {
    password: 'carol',
    claims: { sub: 'https://idp.example/u/carol', name: 'Carol', email: 'carol@example.test', email_verified: true },
  },
} as const

export const TEST_SCOPES = ['openid', 'offline_access', 'profile', 'email', 'api:read', 'api:write'] as const

export type ClientMetadata = Record<string, unknown> & { client_id: string }

export interface OidcProviderOptions {
  /** redirect_uris of the default `bff` client (the broker's callback URL) */
  redirectUris?: string[]
  postLogoutRedirectUris?: string[]
  backchannelLogoutUri?: string
  /** replaces the default client entirely */
  clients?: ClientMetadata[]
  accessTokenTtlSeconds?: number
  clientCredentialsTtlSeconds?: number
  idTokenTtlSeconds?: number
  refreshTokenTtlSeconds?: number
  rotateRefreshToken?: boolean
  /** resource indicator → the scopes it accepts; tokens for a resource are opaque */
  resourceServers?: Record<string, { scope: string }>
  /** fixed port, to stop the provider and bring it back at the same issuer */
  port?: number
  /** opt-in RFC 8693 token exchange grant (test/support/token-exchange-grant.ts), allowed to the default client */
  tokenExchange?: TokenExchangeOptions
  /** true: profile claims only at userinfo, as OIDC Core §5.4 has it for the code flow (default false) */
  conformIdTokenClaims?: boolean
}

export interface ProviderCounts {
  authorizations: number
  authorizationCodeGrants: number
  refreshTokenGrants: number
  clientCredentialsGrants: number
  /** successful RFC 8693 token exchanges */
  tokenExchangeGrants: number
  /** token endpoint errors (`grant.error`), with their OAuth error codes in `grantErrorCodes` */
  grantErrors: number
  grantErrorCodes: string[]
  /** `refresh_token.consumed`: fires once per rotation */
  refreshTokensConsumed: number
  /** revocation endpoint calls answered 200 (RFC 7009 answers 200 even for unknown tokens) */
  revocations: number
  /** the token_type_hint of each of those revocations (RFC 7009 §2.1) */
  revocationHints: string[]
  /** `grant.revoked`: revocation of a refresh token, reuse of a rotated one, logout */
  grantsRevoked: number
  endSessions: number
  backchannelLogouts: number
  backchannelLogoutErrors: number
  serverErrors: number
}

/** The part of oidc-provider's Provider the tests use. */
export interface OidcProvider extends EventEmitter, GrantTypeHost {
  readonly issuer: string
  AccessToken: AccessTokenModel
  callback(): (req: IncomingMessage, res: ServerResponse) => void
  use(middleware: KoaMiddleware): void
}

export interface RunningOidcProvider {
  issuer: string
  url: URL
  provider: OidcProvider
  counts: ProviderCounts
  resetCounts(): void
  stop(): Promise<void>
}

interface KoaContext {
  method: string
  path: string
  status: number
  type: string
  body: unknown
  req: IncomingMessage & { body?: unknown }
  is(type: string): string | false | null
  oidc?: {
    route?: string
    params?: Record<string, unknown>
  }
}
type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>

interface OidcProviderModule {
  default: new (issuer: string, configuration: Record<string, unknown>) => OidcProvider
  errors: { InvalidTarget: OAuthErrorClass; InvalidGrant: OAuthErrorClass; InvalidRequest: OAuthErrorClass; InvalidScope: OAuthErrorClass }
}

const zeroCounts = (): ProviderCounts => ({
  authorizations: 0,
  authorizationCodeGrants: 0,
  refreshTokenGrants: 0,
  clientCredentialsGrants: 0,
  tokenExchangeGrants: 0,
  grantErrors: 0,
  grantErrorCodes: [],
  refreshTokensConsumed: 0,
  revocations: 0,
  revocationHints: [],
  grantsRevoked: 0,
  endSessions: 0,
  backchannelLogouts: 0,
  backchannelLogoutErrors: 0,
  serverErrors: 0,
})

export async function startOidcProvider(options: OidcProviderOptions = {}): Promise<RunningOidcProvider> {
  quietNotices()
  const specifier = 'oidc-provider'
  const { default: Provider, errors } = (await import(specifier)) as OidcProviderModule

  // The issuer holds the port, so listen first and attach the provider afterwards.
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(503).end()
  const server = createServer((req, res) => handler(req, res))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  const issuer = `http://127.0.0.1:${port}`

  const provider = new Provider(issuer, configuration(options, errors.InvalidTarget))
  if (options.tokenExchange) registerTokenExchange(provider, options.tokenExchange, errors)
  const counts = zeroCounts()
  countEvents(provider, counts)
  provider.use(countRevocations(counts))
  provider.use(checkDevLoginPassword)
  handler = provider.callback()

  return {
    issuer,
    url: new URL(issuer),
    provider,
    counts,
    resetCounts: () => Object.assign(counts, zeroCounts()),
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()))
        server.closeAllConnections()
      }),
  }
}

function configuration(options: OidcProviderOptions, InvalidTarget: new (d?: string) => Error): Record<string, unknown> {
  const accessTokenTtl = options.accessTokenTtlSeconds ?? 300
  const resourceServers = options.resourceServers ?? {}
  return {
    clients: options.clients ?? [defaultClient(options)],
    scopes: [...TEST_SCOPES],
    claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'] },
    // Profile claims in the ID token too (unless a test asks for OIDC Core §5.4's userinfo-only release).
    conformIdTokenClaims: options.conformIdTokenClaims ?? false,
    findAccount: (_ctx: unknown, id: string) => findAccount(id),
    cookies: { keys: ['oidc-provider-test-cookie-key'] },
    // Our client is confidential, but the broker promises PKCE S256 always (invariant 4): enforce it.
    pkce: { required: () => true },
    rotateRefreshToken: options.rotateRefreshToken ?? true,
    // The default already issues for offline_access; stated here because tests rely on it.
    issueRefreshToken: async (_ctx: unknown, client: GrantTypeClient, code: ScopedSource) =>
      client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    ttl: {
      AccessToken: accessTokenTtl,
      ClientCredentials: options.clientCredentialsTtlSeconds ?? accessTokenTtl,
      IdToken: options.idTokenTtlSeconds ?? 3600,
      RefreshToken: options.refreshTokenTtlSeconds ?? 24 * 3600,
      AuthorizationCode: 60,
      Interaction: 600,
      Session: 24 * 3600,
      Grant: 24 * 3600,
    },
    features: {
      devInteractions: { enabled: true },
      revocation: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      backchannelLogout: { enabled: true },
      clientCredentials: { enabled: true },
      userinfo: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => undefined,
        useGrantedResource: async () => false,
        getResourceServerInfo: async (_ctx: unknown, indicator: string) => {
          const server = resourceServers[indicator]
          if (!server) throw new InvalidTarget()
          return { scope: server.scope, accessTokenTTL: accessTokenTtl, accessTokenFormat: 'opaque' }
        },
      },
    },
    // oidc-provider 9 refuses outgoing requests to loopback (SSRF guard) by passing its own
    // dispatcher; back-channel logout to the broker on 127.0.0.1 needs the default one.
    fetch: loopbackFetch,
  }
}

interface GrantTypeClient {
  grantTypeAllowed(type: string): boolean
}
interface ScopedSource {
  scopes: Set<string>
}

function defaultClient(options: OidcProviderOptions): ClientMetadata {
  return {
    client_id: TEST_CLIENT_ID,
    client_secret: TEST_CLIENT_SECRET,
    redirect_uris: options.redirectUris ?? ['http://127.0.0.1/bff/callback'],
    post_logout_redirect_uris: options.postLogoutRedirectUris ?? [],
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials', ...(options.tokenExchange ? [TOKEN_EXCHANGE_GRANT] : [])],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: TEST_SCOPES.join(' '),
    ...(options.backchannelLogoutUri
      ? { backchannel_logout_uri: options.backchannelLogoutUri, backchannel_logout_session_required: true }
      : {}),
  }
}

function findAccount(id: string) {
  const account = TEST_ACCOUNTS[id as keyof typeof TEST_ACCOUNTS]
  if (!account) return undefined
  return { accountId: id, claims: async () => ({ ...account.claims }) }
}

function countEvents(provider: OidcProvider, counts: ProviderCounts): void {
  provider.on('authorization.success', () => counts.authorizations++)
  provider.on('grant.success', (ctx: KoaContext) => {
    const grantType = ctx.oidc?.params?.grant_type
    if (grantType === 'authorization_code') counts.authorizationCodeGrants++
    else if (grantType === 'refresh_token') counts.refreshTokenGrants++
    else if (grantType === 'client_credentials') counts.clientCredentialsGrants++
    else if (grantType === TOKEN_EXCHANGE_GRANT) counts.tokenExchangeGrants++
  })
  provider.on('grant.error', (_ctx: KoaContext, error: { error?: string }) => {
    counts.grantErrors++
    counts.grantErrorCodes.push(error.error ?? 'unknown')
  })
  provider.on('refresh_token.consumed', () => counts.refreshTokensConsumed++)
  provider.on('grant.revoked', () => counts.grantsRevoked++)
  provider.on('end_session.success', () => counts.endSessions++)
  provider.on('backchannel.success', () => counts.backchannelLogouts++)
  provider.on('backchannel.error', () => counts.backchannelLogoutErrors++)
  // Without a listener a provider-side bug would surface only as an opaque 500 in the broker's test.
  provider.on('server_error', (_ctx: KoaContext, error: unknown) => {
    counts.serverErrors++
    console.error('oidc-provider server_error', error)
  })
}

// oidc-provider emits no event for a revocation request as such, only for what it destroyed.
function countRevocations(counts: ProviderCounts): KoaMiddleware {
  return async (ctx, next) => {
    await next()
    if (ctx.oidc?.route === 'revocation' && ctx.status === 200) {
      counts.revocations++
      counts.revocationHints.push(String(ctx.oidc.params?.token_type_hint ?? 'none'))
    }
  }
}

// devInteractions accept any login and ignore the password; read the form first and refuse
// wrong credentials so tests can prove a failed login. oidc-provider then reads `req.body`
// because the stream is consumed (its documented fallback for upstream body parsers).
const checkDevLoginPassword: KoaMiddleware = async (ctx, next) => {
  if (ctx.method !== 'POST' || !/^\/interaction\/[^/]+$/.test(ctx.path) || !ctx.is('application/x-www-form-urlencoded')) {
    return next()
  }
  const chunks: Buffer[] = []
  for await (const chunk of ctx.req) chunks.push(chunk as Buffer)
  const form = parseQuery(Buffer.concat(chunks).toString())
  if (form.prompt === 'login') {
    const account = TEST_ACCOUNTS[String(form.login) as keyof typeof TEST_ACCOUNTS]
    if (!account || account.password !== form.password) {
      ctx.status = 401
      ctx.type = 'html'
      ctx.body = '<!DOCTYPE html><p id="login-error">invalid login or password</p>'
      return
    }
  }
  ctx.req.body = form
  return next()
}

