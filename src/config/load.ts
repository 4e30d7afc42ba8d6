import { ConfigError } from './config-error.js'
import { formatIssues } from './issues.js'
import { readConfigFile } from './read-file.js'
import { resolveProvider } from './resolve-provider.js'
import { crossKeyProblems, type Sections } from './rules.js'
import { resolve } from 'node:path'
import { configSchema, envOverrides, type ConfigInput, type FrontendInput } from './schema.js'
import type { Config, FrontendConfig, ProviderConfig } from './types.js'

export { ConfigError } from './config-error.js'

/** Reads the file `env.BFF_CONFIG` names (.json, .yaml or .yml) and validates it; throws `ConfigError`. */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  return parseConfig(readConfigFile(env.BFF_CONFIG), env)
}

/**
 * Turns the file's content into the deep-frozen `Config`: env overrides, defaults, dialect preset, derived
 * values, then every rule. All problems are collected and thrown once as a `ConfigError`.
 */
export function parseConfig(raw: unknown, env: NodeJS.ProcessEnv): Config {
  if (!isRecord(raw)) throw new ConfigError(['config: must be a mapping of keys (is the file empty?)'])
  const production = env.NODE_ENV === 'production'
  const input = applyEnvOverrides(raw, env)
  const parsed = configSchema.safeParse(input, {
    error: (issue) => (issue.code === 'invalid_type' && issue.input === undefined ? 'required' : undefined),
  })
  const problems = parsed.success ? [] : formatIssues(parsed.error.issues)
  const sections = parseSections(input)
  problems.push(...crossKeyProblems(sections, production))
  const resolved = sections.provider === undefined ? undefined : resolveProvider(sections.provider)
  problems.push(...(resolved?.problems ?? []))
  if (!parsed.success || resolved === undefined || problems.length > 0) {
    throw new ConfigError([...new Set(problems)])
  }
  return deepFreeze(buildConfig(parsed.data, resolved.provider, production))
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Secrets may come from the environment instead of the file (docs/architecture.md "Configuration"); the environment wins.
 * Empty variables count as unset, as `${VAR:-}` in a compose file produces them.
 */
function applyEnvOverrides(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const input: Record<string, unknown> = { ...raw }
  for (const { path, env: name, list } of envOverrides) {
    const value = env[name]?.trim()
    if (value === undefined || value === '') continue
    if (path.length === 1) {
      // a top-level number (PORT): a string that is not digits stays a string, so the schema names the key
      input[path[0]] = /^\d+$/.test(value) ? Number(value) : value
      continue
    }
    const [section, key] = path
    const current = input[section] ?? {}
    if (!isRecord(current)) continue // the schema reports the section itself
    const next: Record<string, unknown> = { ...current }
    next[key] = list ? value.split(',').map((part) => part.trim()).filter((part) => part !== '') : value
    // REDIS_URL names the whole store, so it replaces a Sentinel or Cluster setting rather than clashing with it
    if (name === 'REDIS_URL') {
      delete next.sentinel
      delete next.cluster
    }
    input[section] = next
  }
  return input
}

/** Each top-level key parsed on its own, so cross-key rules still run on the parts that are valid. */
function parseSections(input: Record<string, unknown>): Sections {
  const sections: Record<string, unknown> = {}
  for (const [key, schema] of Object.entries(configSchema.shape)) {
    const result = schema.safeParse(input[key])
    if (result.success) sections[key] = result.data
  }
  return sections as Sections
}

function buildConfig(d: ConfigInput, provider: ProviderConfig, production: boolean): Config {
  const publicUrl = new URL(new URL(d.publicUrl).origin)
  const secure = publicUrl.protocol === 'https:'
  return {
    publicUrl,
    port: d.port,
    basePath: d.basePath,
    trustProxy: d.trustProxy,
    allowedReturnOrigins: [...new Set(d.allowedReturnOrigins.map((value) => new URL(value).origin))],
    production,
    redis: {
      ...(d.redis.url !== undefined && { url: new URL(d.redis.url) }),
      keyPrefix: d.redis.keyPrefix,
      ...(d.redis.username !== undefined && { username: d.redis.username }),
      ...(d.redis.password !== undefined && { password: d.redis.password }),
      ...redisTls(d.redis.tls),
      ...(d.redis.sentinel !== undefined && { sentinel: d.redis.sentinel }),
      ...(d.redis.cluster !== undefined && { cluster: d.redis.cluster }),
      replicaAck: {
        replicas: d.redis.waitForReplicas ?? (d.redis.sentinel || d.redis.cluster ? 1 : 0),
        timeoutMs: d.redis.waitTimeoutMs,
      },
    },
    session: {
      ...d.session,
      // __Host- requires Secure, Path=/ and no Domain (RFC 6265bis §4.1.3.2), so only on https
      cookieName: secure ? '__Host-bff-session' : 'bff-session',
      loginCookieName: secure ? '__Host-bff-login' : 'bff-login',
      secure,
    },
    tokens: d.tokens,
    provider,
    apis: d.apis.map((api) => ({ ...api, target: new URL(api.target) })),
    mobile: d.mobile,
    jobs: d.jobs,
    limits: d.limits,
    metrics: { ...(d.metrics.port !== undefined && { port: d.metrics.port }), host: d.metrics.host },
    ...(d.frontend !== undefined && { frontend: buildFrontend(d.frontend) }),
    logLevel: d.logLevel,
  }
}

/** The rules made sure exactly one of static and target is set. */
function buildFrontend({ static: directory, target, contentSecurityPolicy }: FrontendInput): FrontendConfig {
  const csp = contentSecurityPolicy === undefined ? {} : { contentSecurityPolicy }
  return directory !== undefined
    ? { kind: 'static', directory: resolve(directory), ...csp }
    : { kind: 'target', target: new URL(target ?? ''), ...csp }
}

function redisTls(tls: ConfigInput['redis']['tls']): Pick<Config['redis'], 'tls'> {
  if (tls === undefined || tls === false) return {}
  return { tls: tls === true ? { rejectUnauthorized: true } : tls }
}

/** Freezes plain objects, arrays and URL objects (a URL's setters still work: treat it as read-only). */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    if (!(value instanceof URL)) Object.values(value).forEach((child) => deepFreeze(child))
  }
  return value
}
