import type { DialectName, ProviderConfig } from '../../config/types.js'
import type { Dialect, EndpointKey } from './dialect.js'
import { breakout } from './breakout.js'
import { identityHub } from './identity-hub.js'
import { lightOauth2 } from './light-oauth2.js'
import { samsungAccount } from './samsung-account.js'
import { sami } from './sami.js'

/** What a preset sets; explicit config keys always override it. */
export type DialectPreset = Partial<
  Pick<
    ProviderConfig,
    | 'authorizationEndpoint' | 'tokenEndpoint' | 'userinfoEndpoint' | 'revocationEndpoint' | 'endSessionEndpoint'
    | 'clientAuth' | 'scopeSeparator' | 'responseType' | 'subjectClaim' | 'pkce' | 'scopes'
  >
>

/** The dialect registry: the one list of dialect names (config/schema.ts and config/types.ts read it). */
export const dialects = {
  sami,
  'samsung-account': samsungAccount,
  'light-oauth2': lightOauth2,
  'identity-hub': identityHub,
  breakout,
} as const satisfies Record<string, Dialect>

export const dialectNames = Object.keys(dialects) as [DialectName, ...DialectName[]]

const key = (k: string) => `provider.${k}`

// a tenant is one path segment: anything else would let a config value move the endpoint elsewhere
const tenantPattern = /^[A-Za-z0-9._~-]+$/

/** Joins a documented path to baseUrl, keeping any path prefix baseUrl has (`https://host/idp` + `/token`). */
function join(baseUrl: URL, path: string): URL {
  const url = new URL(baseUrl.href)
  url.pathname = url.pathname.replace(/\/+$/, '') + path
  url.search = ''
  url.hash = ''
  return url
}

/**
 * Resolves a dialect preset from `baseUrl` (and `tenant`). Returns problems as messages naming the config key,
 * e.g. `provider.tokenEndpoint: the samsung-account dialect documents no token endpoint path; set it explicitly`.
 */
export function resolveDialect(
  name: DialectName,
  input: { baseUrl?: URL; tenant?: string; explicit: Partial<ProviderConfig> },
): { preset: DialectPreset; problems: string[] } {
  const dialect = dialects[name]
  const { explicit } = input
  const problems: string[] = []
  const preset: DialectPreset = { ...dialect.settings }
  if (dialect.settings.scopes) preset.scopes = [...dialect.settings.scopes]

  const needed = (Object.keys(dialect.paths) as EndpointKey[]).filter((k) => explicit[k] === undefined)
  if (needed.length > 0 && !input.baseUrl) {
    problems.push(`${key('baseUrl')}: the ${name} dialect needs it to build ${needed.map(key).join(', ')}`)
  }
  let tenantOk = true
  if (dialect.tenant && needed.length > 0) {
    if (!input.tenant) {
      tenantOk = false
      problems.push(`${key('tenant')}: the ${name} dialect has per-tenant paths (/{tenant}/oauth2/v1/...); set it`)
    } else if (!tenantPattern.test(input.tenant)) {
      tenantOk = false
      problems.push(`${key('tenant')}: must be one path segment (letters, digits, . _ ~ -)`)
    }
  }
  if (input.baseUrl && tenantOk) {
    for (const k of needed) {
      const path = dialect.paths[k] as string
      preset[k] = join(input.baseUrl, input.tenant ? path.replaceAll('{tenant}', input.tenant) : path)
    }
  }

  for (const [k, why] of Object.entries(dialect.undocumented ?? {})) {
    if (explicit[k as EndpointKey] === undefined) problems.push(`${key(k)}: ${why}`)
  }
  // code flow logins need an authorization endpoint; a password-grant-only provider may do without
  if (!dialect.paths.authorizationEndpoint && !explicit.authorizationEndpoint && explicit.passwordGrant !== true) {
    problems.push(
      `${key('authorizationEndpoint')}: the ${name} dialect documents only the password grant; ` +
        'set provider.authorizationEndpoint, or provider.passwordGrant: true for password logins only',
    )
  }
  return { preset, problems }
}
