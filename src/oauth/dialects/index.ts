import type { DialectName, ProviderConfig } from '../../config/types.js'

/** What a preset sets; explicit config keys always override it. */
export type DialectPreset = Partial<
  Pick<
    ProviderConfig,
    | 'authorizationEndpoint' | 'tokenEndpoint' | 'userinfoEndpoint' | 'revocationEndpoint' | 'endSessionEndpoint'
    | 'clientAuth' | 'scopeSeparator' | 'responseType' | 'subjectClaim' | 'pkce' | 'scopes'
  >
>

/**
 * Resolves a dialect preset from `baseUrl` (and `tenant`). Returns problems as messages naming the config key,
 * e.g. `provider.tokenEndpoint: the samsung-account dialect documents no token path; set it explicitly`.
 * (Stub: the dialects issue fills in the five presets.)
 */
export function resolveDialect(
  name: DialectName,
  input: { baseUrl?: URL; tenant?: string; explicit: Partial<ProviderConfig> },
): { preset: DialectPreset; problems: string[] } {
  void name
  void input
  return { preset: {}, problems: [] }
}
