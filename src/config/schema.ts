import { z } from 'zod'
import type { ClientAuth } from './types.js'
import { dialectNames } from '../oauth/dialects/index.js'
import { mobileSchema } from './mobile-schema.js'
import { absoluteUri, endpointUrl, headerValue, httpUrl, jobClientId, origin, pathPrefix, redisUrl, scopeToken, secretHash } from './schema-fields.js'

/**
 * The config file's shape (docs/config-reference.md and the README's "Provider dialects"). Each key's `.describe()` is
 * its one line of documentation (docs/config-reference.md is generated from it). Strict objects, so a
 * misspelt key is an error rather than a silently ignored setting. Cross-key rules live in `rules.ts`.
 */

export const clientAuths = ['client_secret_basic', 'client_secret_post', 'client_secret_json'] as const
export const tokenKinds = ['user', 'client', 'user-or-client', 'none'] as const
const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/**
 * Defaults of the provider keys a dialect preset may set. They cannot be zod defaults: the order is
 * explicit key, then preset, then these.
 */
export const providerDefaults = {
  clientAuth: 'client_secret_basic' as ClientAuth,
  scopes: ['openid'] as readonly string[],
  scopeSeparator: ' ',
  responseType: 'code',
  subjectClaim: 'sub',
  pkce: true,
}

/** Keys whose value an environment variable replaces; `list` ones are comma-separated. */
export const envOverrides = [
  { path: ['provider', 'clientSecret'], env: 'BFF_CLIENT_SECRET', list: false },
  { path: ['session', 'secrets'], env: 'BFF_SESSION_SECRETS', list: true },
  { path: ['tokens', 'encryptionKeys'], env: 'BFF_TOKEN_KEYS', list: true },
  { path: ['redis', 'url'], env: 'REDIS_URL', list: false },
  // the container convention (and the image's HEALTHCHECK reads it too), so one PORT means one port everywhere
  { path: ['port'], env: 'PORT', list: false },
  { path: ['redis', 'password'], env: 'REDIS_PASSWORD', list: false },
] as const

const hostPort = z.strictObject({
  host: z.string().min(1).describe('host name or address'),
  port: z.number().int().min(1).max(65535).describe('TCP port'),
})

const redisTls = z.union([
  z.boolean(),
  z.strictObject({
    ca: z.string().min(1).optional().describe('path of a PEM file of CA certificates to trust instead of the system ones'),
    servername: z.string().min(1).optional().describe('server name for SNI and certificate checks'),
    rejectUnauthorized: z.boolean().default(true).describe('false accepts any certificate (tests only)'),
  }),
])

const redisSchema = z.strictObject({
  url: redisUrl
    .optional()
    .describe('redis:// or rediss:// URL of a single node; none outside production means an in-process store'),
  keyPrefix: z.string().min(1).default('bff:').describe('prefix of every Redis key the broker writes'),
  username: z.string().min(1).optional()
    .describe("ACL user of the data nodes (single node, Sentinel's primary and replicas, every Cluster node); wins over the url's"),
  password: z.string().min(1).optional().describe("password of the data nodes (AUTH); wins over the url's"),
  tls: redisTls.optional()
    .describe('TLS to the data nodes and sentinels: true, or { ca: PEM file path, servername, rejectUnauthorized (default true) }; a rediss:// url implies true'),
  sentinel: z.strictObject({
    name: z.string().min(1).describe('name of the monitored primary'),
    nodes: z.array(hostPort).min(1).describe('Sentinel nodes'),
    username: z.string().min(1).optional().describe("the sentinels' own ACL user"),
    password: z.string().min(1).optional().describe("the sentinels' own password (requirepass of sentinel.conf)"),
  }).optional().describe('Redis Sentinel instead of url'),
  cluster: z.strictObject({
    nodes: z.array(hostPort).min(1).describe('seed nodes of the cluster (redis.username, password and tls apply to every node)'),
  }).optional().describe('Redis Cluster instead of url'),
  waitForReplicas: z.number().int().min(0).optional()
    .describe('replicas that must acknowledge a session or grant write (WAIT) before it counts, so a failover loses none; default 1 with sentinel or cluster, 0 on a single node'),
  waitTimeoutMs: z.number().int().min(1).max(1500).default(1500)
    .describe('how long such a write waits for its replicas before the request answers 503 (below the 2 s command timeout)'),
})

const sessionSchema = z.strictObject({
  secrets: z.array(z.string().min(1, 'must not be empty')).min(1, 'needs at least one secret')
    .describe('cookie signing secrets: the first signs, all verify (rotation); at least 32 characters in production'),
  sameSite: z
    .enum(['strict', 'lax'])
    .default('strict')
    .describe('SameSite of the session cookie (the login-state cookie is always lax)'),
  idleTimeoutSeconds: z.number().int().positive().default(1800).describe('a session unused this long ends'),
  absoluteTimeoutSeconds: z
    .number()
    .int()
    .positive()
    .default(86400)
    .describe('a session ends this long after login, used or not'),
  websocketCheckSeconds: z.number().int().positive().default(5)
    .describe('how often open WebSocket tunnels check (one Redis round trip) that their session still exists'),
  loginRateLimitPerMinute: z.number().int().positive().default(300)
    .describe('logins started (and callbacks) per client address and minute, IPv6 per /64; over it 429 with Retry-After'),
})

const tokensSchema = z.strictObject({
  encryptionKeys: z
    .array(z.string().min(32, 'must be at least 32 characters'))
    .min(1, 'needs at least one key')
    .describe('key ring for grants at rest: the first encrypts, all decrypt; each at least 32 characters'),
  refreshSkewSeconds: z.number().int().min(0).default(60)
    .describe("refresh when less lifetime than this remains, shortened per grant by up to half to spread refreshes (capped at half the token's lifetime)"),
})

const providerSchema = z.strictObject({
  issuer: httpUrl.optional().describe('OIDC issuer; its discovery document supplies the endpoints'),
  dialect: z.enum(dialectNames).optional().describe('preset for a documented provider shape; needs baseUrl'),
  baseUrl: httpUrl.optional().describe('base URL the dialect preset builds its endpoint URLs on'),
  tenant: z.string().min(1).optional().describe('tenant path segment, for dialects that have one'),
  authorizationEndpoint: endpointUrl
    .optional()
    .describe('authorization endpoint (without discovery, or to override it); may carry a query'),
  tokenEndpoint: endpointUrl.optional().describe('token endpoint (without discovery, or to override it); may carry a query'),
  userinfoEndpoint: endpointUrl.optional().describe('userinfo or "me" endpoint called with the access token'),
  revocationEndpoint: endpointUrl.optional().describe('RFC 7009 revocation endpoint, used at logout'),
  endSessionEndpoint: endpointUrl.optional().describe('OIDC RP-Initiated Logout endpoint'),
  endSessionParams: z.record(z.string(), z.string()).default({})
    .describe('extra end-session request parameters, e.g. state (not id_token_hint, post_logout_redirect_uri or client_id)'),
  clientId: z.string().min(1).describe('OAuth client id of the broker'),
  clientSecret: z.string().min(1).describe('OAuth client secret; prefer the env override'),
  clientAuth: z.enum(clientAuths).optional().meta({ default: providerDefaults.clientAuth })
    .describe('how the client authenticates at the token endpoint'),
  scopes: z.array(scopeToken).optional().meta({ default: providerDefaults.scopes })
    .describe('scopes of the login (offline_access for a refresh token)'),
  scopeSeparator: z.string().min(1).optional().meta({ default: providerDefaults.scopeSeparator })
    .describe('separator of the scope parameter (" " standard, "," for some providers)'),
  responseType: z.string().min(1).optional().meta({ default: providerDefaults.responseType })
    .describe('response_type spelling on the authorization request (CODE for Samsung Account)'),
  authorizationParams: z.record(z.string(), z.string()).default({})
    .describe('extra authorization request parameters, e.g. prompt'),
  subjectClaim: z.string().min(1).optional().meta({ default: providerDefaults.subjectClaim })
    .describe('field naming the user (dotted path allowed): ID token, then userinfo, then token response'),
  fetchUserinfo: z.boolean().default(true)
    .describe('call userinfo at login for the profile claims some providers release only there (OIDC Core §5.4)'),
  passwordGrant: z
    .boolean()
    .default(false)
    .describe('enables the legacy password grant at POST /bff/login/password'),
  logoutIdTokenHint: z
    .boolean()
    .default(true)
    .describe('send id_token_hint at end session (false sends client_id instead)'),
  pkce: z
    .boolean()
    .optional()
    .meta({ default: providerDefaults.pkce })
    .describe('PKCE S256 on the authorization request'),
  timeoutMs: z.number().int().positive().default(10000).describe('timeout of each call to the provider'),
  idTokenIssuedWithinSeconds: z.number().int().min(60).max(86400).default(300)
    .describe('an ID token whose iat is older than this is refused (OIDC Core §3.1.3.7 step 10)'),
  allowInsecureHttp: z.boolean().default(false)
    .describe('production: allow http provider URLs outside loopback (only on a network you trust; a warning at start)'),
})

// RFC 8693 §2.1: `audience` is the logical name of the target service, any string the provider knows
const tokenExchangeSchema = z.strictObject({
  audience: z.string().regex(/^[\x21-\x7E]+$/, 'must be printable ASCII without spaces').optional()
    .describe('RFC 8693 audience: the name of this API at the provider'),
  scope: z.array(scopeToken).min(1).optional().describe('scopes of the exchanged token'),
})

const apiSchema = z.strictObject({
  path: pathPrefix.describe('path prefix on the broker, replaced by target when forwarding'),
  target: httpUrl.describe('upstream base URL (may carry a path; no query or fragment)'),
  token: z
    .enum(tokenKinds)
    .default('user')
    .describe("which access token is attached: the user's, the client's, either, or none"),
  scopes: z.array(scopeToken).optional().describe('scopes of the token requested for this API'),
  resource: absoluteUri.optional().describe('RFC 8707 resource indicator of this API'),
  tokenExchange: tokenExchangeSchema.optional()
    .describe("exchange the user's access token for one for this API (RFC 8693); not with scopes or resource"),
  timeoutMs: z.number().int().positive().default(30000).describe('upstream answer timeout, then 504'),
  anonymous: z
    .boolean()
    .default(false)
    .describe('serve requests without a session (token client or none only)'),
  websocket: z.boolean().default(false).describe('also proxy WebSocket upgrades'),
  websocketMaxLifetimeSeconds: z.number().int().positive().default(3600)
    .describe("a WebSocket tunnel is closed this long after it opened (at the latest at its session's end)"),
  passSetCookie: z
    .boolean()
    .default(false)
    .describe("pass the upstream's Set-Cookie (never one named like the session cookie)"),
})

const jobClientSchema = z.strictObject({
  id: jobClientId.describe('the job client id (the user-id part of its HTTP Basic credentials)'),
  secretHash: secretHash.describe('"sha256:" + hex SHA-256 of its secret (npm run job:secret); never the secret itself'),
  apis: z.array(pathPrefix).default([]).describe('the apis[].path routes it may call (empty: an admin-only client)'),
  onBehalfOf: z.boolean().default(false).describe('may act for users who granted offline access'),
  admin: z.boolean().default(false).describe('may call the session administration API'),
})

const jobsSchema = z.strictObject({
  tokenTtlSeconds: z.number().int().min(30).max(3600).default(300)
    .describe('lifetime of a job token from POST /bff/jobs/token (30 to 3600)'),
  offlineGrantIdleSeconds: z.number().int().min(3600).max(31_536_000).default(2_592_000)
    .describe('an offline grant unused this long ends (1 hour to 1 year)'),
  authFailureLimits: z.strictObject({
    perClientId: z.number().int().min(1).default(10).describe('failed authentications allowed per client id and window'),
    perAddress: z.number().int().min(1).default(30).describe('failed authentications allowed per client address and window'),
    windowSeconds: z.number().int().min(10).max(86_400).default(300).describe('length of the counting window (10 to 86400)'),
  }).prefault({}).describe('past a limit POST /bff/jobs/token answers 429 until the window ends, even to the right secret'),
  clients: z.array(jobClientSchema).default([]).describe('background jobs that authenticate to the broker'),
})

const limitsSchema = z.strictObject({
  bodyTimeoutSeconds: z.number().int().positive().default(10)
    .describe('the whole body of a request to a broker route (under basePath) must arrive within this long, else 408'),
  maxConnectionsPerClient: z.number().int().positive().default(256)
    .describe('open connections one client address (an IPv6 /64) may hold; past it new ones are closed (trusted proxies exempt)'),
})

const metricsSchema = z.strictObject({
  port: z.number().int().min(0).max(65535).optional()
    .describe('serve /metrics on its own listener at this port (and 404 on the main one): the production setting'),
  host: z.string().min(1).default('127.0.0.1')
    .describe('address of the metrics listener; 0.0.0.0 to let a scraper on another host or container in'),
})
const frontendSchema = z.strictObject({
  static: z.string().min(1).optional()
    .describe('directory of the built SPA served on the broker origin (relative to the working directory)'),
  target: httpUrl.optional().describe('frontend dev server every non-broker, non-API path is proxied to (WebSocket upgrades too)'),
  contentSecurityPolicy: headerValue.optional()
    .describe("Content-Security-Policy of the app's pages (default: same-origin only; with target also inline code and ws:)"),
}).describe('the SPA on the broker origin: set exactly one of static, target')

/**
 * An absent section parses as `{}`, so each missing key is named (`session.secrets: required`) rather than
 * the section as a whole; the cast admits the empty default that validation then reports on.
 */
function section<T extends z.ZodObject>(schema: T): z.ZodPrefault<T> {
  return schema.prefault({} as z.input<T>)
}

export const configSchema = z.strictObject({
  publicUrl: origin.describe(
    'external origin of the site; redirect_uri = publicUrl + basePath + /callback',
  ),
  port: z.number().int().min(0).max(65535).default(3000).describe('listening port'),
  basePath: pathPrefix
    .default('/bff')
    .describe('prefix of the broker routes (login, callback, user, logout)'),
  trustProxy: z.union([z.boolean(), z.number().int().min(0), z.string().min(1)], {
    error: 'must be true/false, a hop count or a list of trusted addresses',
  }).default(false).describe('express "trust proxy": which X-Forwarded-* headers to believe (production: a hop count or subnets, not true)'),
  allowedReturnOrigins: z
    .array(origin)
    .default([])
    .describe("origins besides publicUrl's allowed as returnTo and post-logout targets"),
  logLevel: z.enum(logLevels).default('info').describe('log level'),
  redis: section(redisSchema).describe('session and grant store'),
  session: section(sessionSchema).describe('browser session'),
  tokens: section(tokensSchema).describe('grants at rest and refresh'),
  provider: section(providerSchema).describe('the OAuth 2 / OIDC provider'),
  apis: z.array(apiSchema).default([]).describe('upstream APIs proxied with a Bearer token'),
  mobile: section(mobileSchema).describe('mobile apps with a back end (system-browser login, DPoP-bound handles)'),
  jobs: section(jobsSchema).describe('background job clients'),
  limits: section(limitsSchema).describe('slow and greedy clients'),
  metrics: section(metricsSchema).describe('the Prometheus /metrics endpoint'),
  frontend: frontendSchema.optional(),
})

export type ConfigInput = z.output<typeof configSchema>
export type ProviderInput = z.output<typeof providerSchema>
export type ApiInput = z.output<typeof apiSchema>
export type JobsInput = z.output<typeof jobsSchema>
export type FrontendInput = z.output<typeof frontendSchema>
