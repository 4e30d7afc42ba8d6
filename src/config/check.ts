import { ConfigError, loadConfig } from './load.js'
import type { Config } from './types.js'
import { httpProviderUrls } from './rules.js'

/** Where the check writes its report (`process.stdout` in `main.ts`). */
export interface CheckOutput {
  write(text: string): unknown
}

/**
 * `--check-config`: validates the config without starting the server and returns the process exit code.
 * It prints origins and counts only, never a configured value that could be a secret.
 */
export function runConfigCheck(env: NodeJS.ProcessEnv, out: CheckOutput): number {
  let config: Config
  try {
    config = loadConfig(env)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    out.write(`${err.message}\n`)
    return 1
  }
  out.write(`config OK: ${config.publicUrl.origin}, provider ${describeProvider(config)}, ${config.apis.length} apis\n`)
  for (const warning of configWarnings(config)) out.write(`warning: ${warning}\n`)
  return 0
}

function describeProvider({ provider }: Config): string {
  // origin + path: a URL could carry credentials, which are never printed
  if (provider.issuer !== undefined) return `${provider.issuer.origin}${provider.issuer.pathname}`
  if (provider.dialect !== undefined) return `dialect ${provider.dialect}`
  return `endpoints at ${provider.tokenEndpoint?.origin ?? 'unknown'}`
}

/** Legal settings an operator should still hear about. */
export function configWarnings(config: Config): string[] {
  const warnings: string[] = []
  if (config.provider.passwordGrant) {
    warnings.push('provider.passwordGrant is enabled: the legacy password grant exposes user passwords to the broker')
  }
  const { url, sentinel, cluster } = config.redis
  if (url === undefined && sentinel === undefined && cluster === undefined) {
    warnings.push('no redis configured: sessions live in process memory (demo only, one instance)')
  }
  if (config.redis.tls?.rejectUnauthorized === false) {
    warnings.push('redis.tls.rejectUnauthorized is false: any certificate is accepted, so the Redis link can be intercepted')
  }
  if (config.provider.allowInsecureHttp && httpProviderUrls(config.provider, { loopback: false }).length > 0) {
    warnings.push('provider.allowInsecureHttp is on: the client secret and tokens cross plain http to the provider')
  }
  if (!config.provider.pkce) warnings.push('provider.pkce is off: the authorization code is not bound to the login')
  if (config.production && config.metrics.port === undefined) {
    warnings.push('metrics.port is not set: /metrics is served on the public listener')
  }
  return warnings
}
