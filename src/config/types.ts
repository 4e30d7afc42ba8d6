import type { ConfigInput, FrontendInput, ProviderInput, clientAuths, tokenKinds } from './schema.js'
import type { dialects } from '../oauth/dialects/index.js'

/**
 * The validated, deep-frozen configuration. `loadConfig` is the only producer; only `app.ts` and `main.ts`
 * see all of it, every other module receives the slice it needs.
 *
 * Every type here is the zod schema's output (schema.ts, mobile-schema.ts) plus what load.ts derives (URL objects,
 * cookie names, the resolved provider), so a key is declared once, in the schema, with its one-line doc.
 */

/** Arrays are frozen (load.ts deepFreeze): read-only, at every depth. */
type Frozen<T> = T extends URL
  ? T
  : T extends ReadonlyArray<infer E>
    ? ReadonlyArray<Frozen<E>>
    : T extends object
      ? { [K in keyof T]: Frozen<T[K]> }
      : T
/** `T` with the keys `K` replaced by `R` */
type With<T, K extends keyof T, R> = Omit<T, K> & R

export type ClientAuth = (typeof clientAuths)[number]
/** the dialect registry's names (oauth/dialects/index.ts) */
export type DialectName = keyof typeof dialects
export type TokenKind = (typeof tokenKinds)[number]

type RedisInput = ConfigInput['redis']
export type RedisTlsConfig = Frozen<Exclude<RedisInput['tls'], boolean | undefined>>
export type RedisConfig = Frozen<With<RedisInput, 'url' | 'tls' | 'waitForReplicas' | 'waitTimeoutMs', {
  /** redis:// or rediss:// URL of a single node; absent only in the demo (in-process store) */
  url?: URL
  /** TLS to the data nodes (and sentinels); absent: plain TCP (a rediss:// url turns it on) */
  tls?: RedisTlsConfig
  /** redis.waitForReplicas / waitTimeoutMs: the replicas a session or grant write waits for (WAIT) */
  replicaAck: { replicas: number; timeoutMs: number }
}>>

export type SessionConfig = Frozen<ConfigInput['session'] & {
  /** derived: __Host-bff-session on https, bff-session on http */
  cookieName: string
  /** derived: __Host-bff-login on https, bff-login on http */
  loginCookieName: string
  /** derived: publicUrl is https */
  secure: boolean
}>

export type TokensConfig = Frozen<ConfigInput['tokens']>

type ProviderUrlKey = 'issuer' | 'baseUrl' | 'authorizationEndpoint' | 'tokenEndpoint' | 'userinfoEndpoint' | 'revocationEndpoint' | 'endSessionEndpoint'
/** keys with a default a dialect preset may replace (schema.ts providerDefaults): always set once resolved */
type ProviderPresetKey = 'clientAuth' | 'scopes' | 'scopeSeparator' | 'responseType' | 'subjectClaim' | 'pkce'
/** the provider keys in force (config/resolve-provider.ts): explicit key, then dialect preset, then default */
export type ProviderConfig = Frozen<
  Omit<ProviderInput, ProviderUrlKey | ProviderPresetKey> &
  { [K in ProviderUrlKey]?: URL } &
  Required<Pick<ProviderInput, ProviderPresetKey>>
>

type ApiInput = ConfigInput['apis'][number]
export type TokenExchangeRoute = Frozen<NonNullable<ApiInput['tokenExchange']>>
export type ApiRoute = Frozen<With<ApiInput, 'target', { target: URL }>>

export type MobileConfig = Frozen<ConfigInput['mobile']>
export type MobileApp = MobileConfig['apps'][number]

export type JobsConfig = Frozen<ConfigInput['jobs']>
export type JobClientConfig = JobsConfig['clients'][number]

export type LimitsConfig = Frozen<ConfigInput['limits']>
export type MetricsConfig = Frozen<ConfigInput['metrics']>

/** `frontend`: the SPA on the broker's origin, from a directory or from a dev server (the rules allow exactly one) */
export type FrontendConfig =
  | { kind: 'static'; /** absolute */ directory: string; contentSecurityPolicy?: FrontendInput['contentSecurityPolicy'] }
  | { kind: 'target'; target: URL; contentSecurityPolicy?: FrontendInput['contentSecurityPolicy'] }

export type Config = Frozen<With<ConfigInput, 'publicUrl' | 'redis' | 'session' | 'provider' | 'apis' | 'frontend', {
  /** the origin of the schema's publicUrl */
  publicUrl: URL
  /** derived: NODE_ENV=production */
  production: boolean
  redis: RedisConfig
  session: SessionConfig
  provider: ProviderConfig
  apis: readonly ApiRoute[]
  frontend?: FrontendConfig
}>>
