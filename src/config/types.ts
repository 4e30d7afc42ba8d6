/**
 * The validated, deep-frozen configuration. `loadConfig` is the only producer; only `app.ts` and `main.ts`
 * see all of it, every other module receives the slice it needs.
 */
export type ClientAuth = 'client_secret_basic' | 'client_secret_post' | 'client_secret_json'
export type DialectName = 'sami' | 'samsung-account' | 'light-oauth2' | 'identity-hub' | 'breakout'
export type TokenKind = 'user' | 'client' | 'user-or-client' | 'none'

export interface RedisConfig {
  /** redis:// or rediss:// URL of a single node; absent only in the demo (in-process store) */
  url?: URL
  keyPrefix: string
  /** ACL user and password of the data nodes (every node of a Cluster); redis.* wins over the url's */
  username?: string
  password?: string
  /** TLS to the data nodes (and sentinels); absent: plain TCP (a rediss:// url turns it on) */
  tls?: RedisTlsConfig
  sentinel?: { name: string; nodes: Array<{ host: string; port: number }>; username?: string; password?: string }
  cluster?: { nodes: Array<{ host: string; port: number }> }
  /** redis.waitForReplicas / waitTimeoutMs: the replicas a session or grant write waits for (WAIT) */
  replicaAck: { replicas: number; timeoutMs: number }
}

export interface RedisTlsConfig {
  /** path of a PEM file of CA certificates (read when the client is built) */
  ca?: string
  servername?: string
  rejectUnauthorized: boolean
}

export interface SessionConfig {
  secrets: readonly string[]
  sameSite: 'strict' | 'lax'
  idleTimeoutSeconds: number
  absoluteTimeoutSeconds: number
  /** how often open WebSocket tunnels check that their session still exists */
  websocketCheckSeconds: number
  loginRateLimitPerMinute: number
  /** derived: __Host-bff-session on https, bff-session on http */
  cookieName: string
  /** derived: __Host-bff-login on https, bff-login on http */
  loginCookieName: string
  /** derived: publicUrl is https */
  secure: boolean
}

export interface TokensConfig {
  encryptionKeys: readonly string[]
  refreshSkewSeconds: number
}

export interface ProviderConfig {
  /** OIDC discovery; absent for plain OAuth 2 servers configured by endpoints */
  issuer?: URL
  dialect?: DialectName
  baseUrl?: URL
  tenant?: string
  authorizationEndpoint?: URL
  tokenEndpoint?: URL
  userinfoEndpoint?: URL
  revocationEndpoint?: URL
  endSessionEndpoint?: URL
  clientId: string
  clientSecret: string
  clientAuth: ClientAuth
  scopes: readonly string[]
  scopeSeparator: string
  /** authorization request response_type spelling (`code`, or `CODE` for Samsung Account) */
  responseType: string
  authorizationParams: Readonly<Record<string, string>>
  subjectClaim: string
  passwordGrant: boolean
  logoutIdTokenHint: boolean
  /** PKCE on the authorization request (default true; a preset may not support it) */
  pkce: boolean
  /** token endpoint timeout */
  timeoutMs: number
  /** oldest `iat` an ID token may carry, seconds before now */
  idTokenIssuedWithinSeconds: number
}

export interface TokenExchangeRoute {
  audience?: string
  scope?: readonly string[]
}

export interface ApiRoute {
  path: string
  target: URL
  token: TokenKind
  scopes?: readonly string[]
  resource?: string
  /** RFC 8693: the user's access token is exchanged for one for this API */
  tokenExchange?: TokenExchangeRoute
  timeoutMs: number
  anonymous: boolean
  websocket: boolean
  /** a tunnel is closed this long after it opened, or earlier at its session's absolute timeout */
  websocketMaxLifetimeSeconds: number
  passSetCookie: boolean
}

export interface MobileApp {
  clientId: string
  redirectUris: readonly string[]
  dpop: boolean
}

export interface MobileConfig {
  handoffTtlSeconds: number
  idleTimeoutSeconds: number
  absoluteTimeoutSeconds: number
  apps: readonly MobileApp[]
}

export interface JobClientConfig {
  id: string
  /** `sha256:` + 64 lowercase hex digits */
  secretHash: string
  /** apis[].path values it may call */
  apis: readonly string[]
  onBehalfOf: boolean
  admin: boolean
}

export interface JobsConfig {
  tokenTtlSeconds: number
  offlineGrantIdleSeconds: number
  /** failed authentications at POST /bff/jobs/token, counted per window */
  authFailureLimits: { perClientId: number; perAddress: number; windowSeconds: number }
  clients: readonly JobClientConfig[]
}

export interface LimitsConfig {
  /** the body of a request to a broker route must arrive within this long (408 after) */
  bodyTimeoutSeconds: number
  /** connections one client address (IPv6: its /64) may hold open at once */
  maxConnectionsPerClient: number
}

export interface MetricsConfig {
  /** a separate listener for /metrics; absent: /metrics is served on the main listener */
  port?: number
  host: string
}
/** `frontend`: the SPA on the broker's origin, from a directory or from a dev server (exactly one) */
export type FrontendConfig =
  | { kind: 'static'; /** absolute */ directory: string; contentSecurityPolicy?: string }
  | { kind: 'target'; target: URL; contentSecurityPolicy?: string }

export interface Config {
  publicUrl: URL
  port: number
  basePath: string
  /** express `trust proxy` value */
  trustProxy: boolean | number | string
  /** origins (besides publicUrl's) allowed as returnTo / post-logout targets */
  allowedReturnOrigins: readonly string[]
  production: boolean
  redis: RedisConfig
  session: SessionConfig
  tokens: TokensConfig
  provider: ProviderConfig
  apis: readonly ApiRoute[]
  mobile: MobileConfig
  jobs: JobsConfig
  limits: LimitsConfig
  metrics: MetricsConfig
  frontend?: FrontendConfig
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
}
