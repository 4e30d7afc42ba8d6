import type { DialectName, ProviderConfig } from '../../config/types.js'

type EndpointKey = 'authorizationEndpoint' | 'tokenEndpoint' | 'userinfoEndpoint' | 'revocationEndpoint' | 'endSessionEndpoint'

/**
 * A documented provider shape, as data. `paths` are joined to `provider.baseUrl`; `{tenant}` is replaced by
 * `provider.tenant`. Paths a provider's docs do not give are left out on purpose, never guessed.
 */
export interface Dialect {
  name: DialectName
  paths: Partial<Record<EndpointKey, string>>
  settings: Partial<Pick<ProviderConfig, 'clientAuth' | 'scopeSeparator' | 'responseType' | 'subjectClaim' | 'pkce' | 'scopes'>>
  /** the paths hold `{tenant}` */
  tenant?: boolean
  /** endpoints the docs never name: each must be set explicitly, with the reason shown to the operator */
  undocumented?: Partial<Record<EndpointKey, string>>
}

export type { EndpointKey }
