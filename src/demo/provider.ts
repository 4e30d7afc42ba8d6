import { EventEmitter } from 'node:events'
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { checkDemoPassword, demoLoginPage, DEMO_USERS, logoutSource, postLogoutSuccessSource, type KoaMiddleware } from './provider-pages.js'

// The demo's identity provider: oidc-provider 9 with its development login and consent pages, on loopback.
// oidc-provider is a devDependency and ships no types: it is imported through a non-literal specifier, so the
// production image (no dev dependencies) never resolves it, and typed here by the little the demo touches.

export interface DemoProviderOptions {
  clientId: string
  clientSecret: string
  /** the broker's callback URL */
  redirectUri: string
  postLogoutRedirectUris: string[]
  backchannelLogoutUri: string
  host?: string
  port?: number
}

export interface DemoProvider {
  issuer: string
  userinfoUrl: string
  /** oidc-provider's event emitter ('grant.success', 'access_token.saved', …) */
  events: EventEmitter
  stop(): Promise<void>
}

interface OidcProvider extends EventEmitter {
  callback(): (req: IncomingMessage, res: ServerResponse) => void
  use(middleware: KoaMiddleware): void
}
type ProviderClass = new (issuer: string, configuration: Record<string, unknown>) => OidcProvider

const SCOPES = ['openid', 'offline_access', 'profile', 'email']

export async function startDemoProvider(opts: DemoProviderOptions): Promise<DemoProvider> {
  quietNotices()
  const specifier = 'oidc-provider'
  const { default: Provider } = (await import(specifier)) as { default: ProviderClass }
  const host = opts.host ?? '127.0.0.1'
  // the issuer holds the port, so listen first and attach the provider afterwards
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(503).end()
  const server = createServer((req, res) => handler(req, res))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, host, () => resolve())
  })
  const issuer = `http://${host}:${(server.address() as AddressInfo).port}`
  const provider = new Provider(issuer, configuration(opts))
  provider.use(demoLoginPage)
  provider.use(checkDemoPassword)
  // without a listener a provider-side failure would only show as an opaque 500 in the broker
  provider.on('server_error', (_ctx: unknown, error: unknown) => console.error('demo identity provider error', error))
  handler = provider.callback()
  return {
    issuer,
    userinfoUrl: `${issuer}/me`,
    events: provider,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

function configuration(opts: DemoProviderOptions): Record<string, unknown> {
  return {
    clients: [
      {
        client_id: opts.clientId,
        client_secret: opts.clientSecret,
        redirect_uris: [opts.redirectUri],
        post_logout_redirect_uris: opts.postLogoutRedirectUris,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: SCOPES.join(' '),
        backchannel_logout_uri: opts.backchannelLogoutUri,
        backchannel_logout_session_required: true,
      },
    ],
    scopes: SCOPES,
    claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'] },
    conformIdTokenClaims: false,
    findAccount: (_ctx: unknown, id: string) => {
      const user = DEMO_USERS[id]
      return user ? { accountId: id, claims: async () => ({ ...user.claims }) } : undefined
    },
    // a fresh cookie key per run: the demo keeps nothing across restarts anyway
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    pkce: { required: () => true },
    rotateRefreshToken: true,
    // short access tokens so a demo session shows the broker refreshing (offline_access needs prompt=consent,
    // docs/architecture.md "Dependency notes")
    ttl: { AccessToken: 300, IdToken: 3600, RefreshToken: 24 * 3600, AuthorizationCode: 60, Interaction: 600, Session: 24 * 3600, Grant: 24 * 3600 },
    features: {
      devInteractions: { enabled: true },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
    },
    // oidc-provider 9 refuses outgoing requests to loopback (an SSRF guard passed as its own dispatcher);
    // back-channel logout to the broker on 127.0.0.1 needs the default one
    fetch: loopbackFetch,
  }
}

/** oidc-provider's `fetch` option without its SSRF-guard dispatcher, so it may call back to 127.0.0.1. */
export function loopbackFetch(url: string, init: RequestInit & { dispatcher?: unknown }): Promise<Response> {
  const { dispatcher: _ssrfGuard, ...rest } = init
  return fetch(url, rest)
}

// oidc-provider warns through console about what a development provider is (dev keys, in-memory adapter,
// devInteractions), some of it on first use: all true and intended here, and noise around the URL the demo prints
let quieted = false
export function quietNotices(): void {
  if (quieted) return
  quieted = true
  for (const level of ['warn', 'info'] as const) {
    const original = console[level].bind(console)
    console[level] = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && /^(\x1b\[[\d;]*m)?oidc-provider (WARNING|NOTICE):/.test(args[0])) return
      original(...args)
    }
  }
}
