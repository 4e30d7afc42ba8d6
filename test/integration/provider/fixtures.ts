import type { DialectName, ProviderConfig } from '../../../src/config/types.js'
import { resolveDialect } from '../../../src/oauth/dialects/index.js'
import { createOpenIdClientProvider, type OpenIdClientProviderDeps } from '../../../src/oauth/openid-client-provider.js'
import { createLogger, type Logger } from '../../../src/observability/logger.js'

export const redirectUri = 'http://127.0.0.1:3000/bff/callback'

export function providerConfig(overrides: Partial<ProviderConfig>): ProviderConfig {
  return {
    clientId: 'wire-client',
    clientSecret: 'wire-secret',
    clientAuth: 'client_secret_basic',
    scopes: [],
    scopeSeparator: ' ',
    responseType: 'code',
    authorizationParams: {},
    endSessionParams: {},
    fetchUserinfo: true,
    subjectClaim: 'sub',
    passwordGrant: false,
    logoutIdTokenHint: true,
    pkce: true,
    timeoutMs: 5000,
    idTokenIssuedWithinSeconds: 300,
    allowInsecureHttp: false,
    ...overrides,
  }
}

/** What the config loader does for a dialect: preset first, explicit keys over it. */
export function dialectConfig(dialect: DialectName, baseUrl: URL, explicit: Partial<ProviderConfig>): ProviderConfig {
  const { preset, problems } = resolveDialect(dialect, { baseUrl, tenant: explicit.tenant, explicit })
  if (problems.length > 0) throw new Error(problems.join('\n'))
  return providerConfig({ dialect, baseUrl, ...preset, ...explicit })
}

/** A real logger writing into an array, so tests can prove no token reaches a log line. */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = []
  const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(s) } })
  return { logger, lines }
}

export function makeProvider(config: ProviderConfig, extra: Partial<OpenIdClientProviderDeps> = {}) {
  const { logger, lines } = captureLogger()
  const provider = createOpenIdClientProvider({ config, logger, allowInsecureHttp: true, ...extra })
  return { provider, lines }
}
