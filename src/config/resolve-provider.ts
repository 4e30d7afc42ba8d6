import { resolveDialect, type DialectPreset } from '../oauth/dialects/index.js'
import { providerDefaults, type ProviderInput } from './schema.js'
import type { ProviderConfig } from './types.js'

const toUrl = (value: string | undefined): URL | undefined => (value === undefined ? undefined : new URL(value))

/** Drops undefined values, so spreading a partial never erases a key set earlier. */
function defined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}

/**
 * The provider settings in force: an explicit key wins over the dialect preset, which wins over the
 * defaults (README "Provider dialects"). Also checks that the provider can be reached at all: by
 * discovery, by a preset, or by explicit endpoints.
 */
export function resolveProvider(input: ProviderInput): { provider: ProviderConfig; problems: string[] } {
  // the keys the operator wrote, as the preset sees them ("explicit keys override the preset")
  const explicit: Partial<ProviderConfig> = defined({
    issuer: toUrl(input.issuer),
    dialect: input.dialect,
    baseUrl: toUrl(input.baseUrl),
    tenant: input.tenant,
    authorizationEndpoint: toUrl(input.authorizationEndpoint),
    tokenEndpoint: toUrl(input.tokenEndpoint),
    userinfoEndpoint: toUrl(input.userinfoEndpoint),
    revocationEndpoint: toUrl(input.revocationEndpoint),
    endSessionEndpoint: toUrl(input.endSessionEndpoint),
    clientAuth: input.clientAuth,
    scopes: input.scopes,
    scopeSeparator: input.scopeSeparator,
    responseType: input.responseType,
    subjectClaim: input.subjectClaim,
    pkce: input.pkce,
    // resolveDialect reads it: a password-grant-only provider needs no authorization endpoint
    passwordGrant: input.passwordGrant,
  })
  const problems: string[] = []
  let preset: DialectPreset = {}
  if (input.dialect !== undefined) {
    const resolved = resolveDialect(input.dialect, { baseUrl: explicit.baseUrl, tenant: input.tenant, explicit })
    preset = resolved.preset
    problems.push(...resolved.problems)
  }
  const provider: ProviderConfig = {
    ...providerDefaults,
    ...defined(preset),
    ...explicit,
    clientId: input.clientId,
    clientSecret: input.clientSecret,
    authorizationParams: input.authorizationParams,
    endSessionParams: input.endSessionParams,
    fetchUserinfo: input.fetchUserinfo,
    passwordGrant: input.passwordGrant,
    logoutIdTokenHint: input.logoutIdTokenHint,
    timeoutMs: input.timeoutMs,
    idTokenIssuedWithinSeconds: input.idTokenIssuedWithinSeconds,
    allowInsecureHttp: input.allowInsecureHttp,
  }
  problems.push(...reachabilityProblems(provider, problems))
  return { provider, problems }
}

function reachabilityProblems(provider: ProviderConfig, earlier: readonly string[]): string[] {
  const problems: string[] = []
  // resolveDialect names keys too; one problem per key is enough
  const add = (key: string, message: string): void => {
    if (!earlier.some((problem) => problem.startsWith(`${key}:`))) problems.push(`${key}: ${message}`)
  }
  if (provider.dialect === undefined) {
    if (provider.baseUrl !== undefined) add('provider.baseUrl', 'has no effect without provider.dialect')
    if (provider.tenant !== undefined) add('provider.tenant', 'has no effect without provider.dialect')
  }
  if (provider.issuer !== undefined) return problems
  // a password-grant-only provider has no authorization endpoint (the login route then offers no code flow)
  const missing = (['authorizationEndpoint', 'tokenEndpoint'] as const).filter(
    (key) => provider[key] === undefined && !(key === 'authorizationEndpoint' && provider.passwordGrant),
  )
  if (missing.length === 0) return problems
  if (provider.dialect !== undefined && provider.baseUrl === undefined) {
    add('provider.baseUrl', 'required with provider.dialect (or set issuer or the endpoints)')
  } else if (provider.dialect !== undefined) {
    for (const key of missing) add(`provider.${key}`, `required (the ${provider.dialect} dialect sets none)`)
  } else if (provider.authorizationEndpoint === undefined && provider.tokenEndpoint === undefined) {
    problems.push('provider: set issuer, or dialect and baseUrl, or authorizationEndpoint and tokenEndpoint')
  } else {
    for (const key of missing) add(`provider.${key}`, 'required without provider.issuer')
  }
  return problems
}
