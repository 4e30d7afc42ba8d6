import { existsSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { accessSync, constants } from 'node:fs'
import type { ConfigInput } from './schema.js'

/**
 * Rules that span keys. Each runs on the sections that parsed on their own, so a typo in one section does
 * not hide a broken rule in another: every problem is reported in the same pass.
 */
export type Sections = Partial<ConfigInput>

/** Routes the broker serves itself at the root, which an API prefix must not shadow. */
export const reservedPaths = ['/healthz', '/readyz', '/metrics']

/** Authorization request parameters the broker sets itself; overriding them would break the flow's checks. */
const brokerParams = [
  'response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'nonce', 'code_challenge', 'code_challenge_method',
]

/** End-session request parameters the broker sets itself (OIDC RP-Initiated Logout 1.0 §2). */
const endSessionBrokerParams = ['id_token_hint', 'post_logout_redirect_uri', 'client_id']

const loopbackHosts = ['localhost', '127.0.0.1', '[::1]']

export function crossKeyProblems(s: Sections, production: boolean): string[] {
  return [
    ...apiProblems(s),
    ...sessionProblems(s),
    ...redisProblems(s),
    ...providerParamProblems(s),
    ...jobProblems(s),
    ...metricsProblems(s),
    ...frontendProblems(s),
    ...(production ? productionProblems(s) : []),
  ]
}

function overlaps(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`)
}

function apiProblems({ apis, basePath }: Sections): string[] {
  if (apis === undefined) return []
  const problems: string[] = []
  apis.forEach((api, i) => {
    if (api.anonymous && api.token !== 'client' && api.token !== 'none') {
      problems.push(`apis[${i}].anonymous: allowed only with token client or none (token is ${api.token})`)
    }
    problems.push(...tokenExchangeProblems(api, i))
    const first = apis.findIndex((other) => other.path === api.path)
    if (first < i) problems.push(`apis[${i}].path: duplicate of apis[${first}].path (${api.path})`)
    if (basePath !== undefined && overlaps(api.path, basePath)) {
      problems.push(`apis[${i}].path: overlaps basePath ${basePath}`)
    }
    const reserved = reservedPaths.find((path) => overlaps(api.path, path))
    if (reserved !== undefined) problems.push(`apis[${i}].path: overlaps the broker's ${reserved}`)
  })
  return problems
}

/** RFC 8693 exchanges the user's token: there must be one, and the route's token comes from the exchange alone. */
function tokenExchangeProblems(api: NonNullable<Sections['apis']>[number], i: number): string[] {
  const exchange = api.tokenExchange
  if (exchange === undefined) return []
  const problems: string[] = []
  if (exchange.audience === undefined && exchange.scope === undefined) {
    problems.push(`apis[${i}].tokenExchange: set audience, scope or both`)
  }
  if (api.token !== 'user' && api.token !== 'user-or-client') {
    problems.push(`apis[${i}].tokenExchange: allowed only with token user or user-or-client (token is ${api.token})`)
  }
  const clashes = (['scopes', 'resource'] as const).filter((key) => api[key] !== undefined)
  if (clashes.length > 0) {
    problems.push(`apis[${i}].tokenExchange: not with ${clashes.join(' or ')} (the exchange names the token's audience and scope)`)
  }
  return problems
}

function sessionProblems({ session }: Sections): string[] {
  if (session === undefined || session.idleTimeoutSeconds <= session.absoluteTimeoutSeconds) return []
  return ['session.idleTimeoutSeconds: must not exceed session.absoluteTimeoutSeconds']
}

function redisProblems({ redis }: Sections): string[] {
  if (redis === undefined) return []
  const set = (['url', 'sentinel', 'cluster'] as const).filter((key) => redis[key] !== undefined)
  const problems = set.length > 1 ? [`redis: set only one of url, sentinel, cluster (got ${set.join(', ')})`] : []
  const ca = typeof redis.tls === 'object' ? redis.tls.ca : undefined
  // read when the client is built: a missing file is a config problem, not a crash at start
  if (ca !== undefined && !readable(ca)) problems.push(`redis.tls.ca: cannot read ${ca}`)
  return problems
}

function readable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK)
    return true
  } catch {
    return false
  }
}

function providerParamProblems({ provider }: Sections): string[] {
  if (provider === undefined) return []
  return [
    ...Object.keys(provider.authorizationParams)
      .filter((name) => brokerParams.includes(name))
      .map((name) => `provider.authorizationParams.${name}: set by the broker; use the matching provider key instead`),
    ...Object.keys(provider.endSessionParams)
      .filter((name) => endSessionBrokerParams.includes(name))
      .map((name) => `provider.endSessionParams.${name}: set by the broker at logout`),
    ...endpointQueryProblems('authorizationEndpoint', provider.authorizationEndpoint, brokerParams),
    ...endpointQueryProblems('endSessionEndpoint', provider.endSessionEndpoint, endSessionBrokerParams),
  ]
}

/** A query the endpoint URL carries is kept (RFC 6749 §3.1); one naming a broker parameter would send it twice. */
function endpointQueryProblems(key: string, value: string | undefined, reserved: readonly string[]): string[] {
  if (value === undefined || !URL.canParse(value)) return []
  return [...new URL(value).searchParams.keys()]
    .filter((name) => reserved.includes(name))
    .map((name) => `provider.${key}: its query must not carry ${name} (set by the broker)`)
}

/** Job client ids are unique, and each entry of a client's `apis` names a configured route. */
function jobProblems({ jobs, apis }: Sections): string[] {
  if (jobs === undefined) return []
  const problems: string[] = []
  jobs.clients.forEach((client, i) => {
    const first = jobs.clients.findIndex((other) => other.id === client.id)
    if (first < i) problems.push(`jobs.clients[${i}].id: duplicate of jobs.clients[${first}].id (${client.id})`)
    if (apis === undefined) return // apis failed on its own and is reported there
    client.apis.forEach((path, j) => {
      if (!apis.some((api) => api.path === path)) {
        problems.push(`jobs.clients[${i}].apis[${j}]: names no apis[].path (${path})`)
      }
    })
  })
  return problems
}

function metricsProblems({ metrics, port }: Sections): string[] {
  if (metrics?.port === undefined || metrics.port === 0 || metrics.port !== port) return []
  return [`metrics.port: must differ from port (${port}): it is a listener of its own`]
}

/** Exactly one way to serve the SPA; a directory that exists and has the index.html of client-side routes. */
function frontendProblems({ frontend, publicUrl }: Sections): string[] {
  if (frontend === undefined) return []
  const { static: directory, target } = frontend
  if (directory !== undefined && target !== undefined) return ['frontend: set only one of static, target']
  if (directory === undefined && target === undefined) return ['frontend: set one of static, target']
  if (target !== undefined) {
    const own = publicUrl !== undefined && new URL(target).origin === new URL(publicUrl).origin
    return own ? ["frontend.target: must not be the broker's own publicUrl"] : []
  }
  const root = resolve(directory ?? '')
  if (!isDirectory(root)) return [`frontend.static: no such directory (${root})`]
  return existsSync(join(root, 'index.html')) ? [] : [`frontend.static: ${root} has no index.html`]
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory()
  } catch {
    return false
  }
}

/** The provider keys that hold a URL the broker calls or sends the browser to (a dialect builds on baseUrl). */
const providerUrlKeys = [
  'issuer', 'baseUrl', 'authorizationEndpoint', 'tokenEndpoint', 'userinfoEndpoint', 'revocationEndpoint', 'endSessionEndpoint',
] as const

/** The provider URLs that are http: (key and URL), loopback ones included when `loopback` is true. */
export function httpProviderUrls(
  provider: Partial<Record<(typeof providerUrlKeys)[number], string | URL>>,
  opts: { loopback: boolean },
): Array<{ key: string; url: URL }> {
  return providerUrlKeys.flatMap((key) => {
    const value = provider[key]
    if (value === undefined) return []
    const url = new URL(value)
    if (url.protocol !== 'http:' || (!opts.loopback && loopbackHosts.includes(url.hostname))) return []
    return [{ key: `provider.${key}`, url }]
  })
}

/**
 * RFC 6749 §2.3.1, §3.1, §3.2 require TLS on these endpoints: the client secret, codes and tokens cross
 * these links. Plain http outside loopback only with `provider.allowInsecureHttp` (a network the operator trusts).
 */
function insecureProviderProblems(provider: Sections['provider']): string[] {
  if (provider === undefined || provider.allowInsecureHttp) return []
  return httpProviderUrls(provider, { loopback: false }).map(({ key }) =>
    `${key}: must be https in production (http only on localhost, 127.0.0.1 or [::1]; provider.allowInsecureHttp: true if the network is trusted)`)
}

/** Production refuses what is only safe on a developer's machine. */
function productionProblems({ publicUrl, session, redis, trustProxy, provider }: Sections): string[] {
  const problems: string[] = [...trustProxyProblems(trustProxy), ...insecureProviderProblems(provider)]
  if (publicUrl !== undefined) {
    const url = new URL(publicUrl)
    if (url.protocol === 'http:' && !loopbackHosts.includes(url.hostname)) {
      problems.push('publicUrl: must be https in production (http only on localhost, 127.0.0.1 or [::1])')
    }
  }
  session?.secrets.forEach((secret, i) => {
    if (secret.length < 32) problems.push(`session.secrets[${i}]: must be at least 32 characters in production`)
  })
  if (redis !== undefined && redis.url === undefined && redis.sentinel === undefined && redis.cluster === undefined) {
    problems.push('redis.url: required in production (or redis.sentinel or redis.cluster; env REDIS_URL)')
  }
  return problems
}

/**
 * `true` (or a subnet list with a /0) believes every X-Forwarded-For entry, so each client names its own address
 * and the per-address limits count nothing (RFC 7239 §8.3: only a proxy's own entries are trustworthy).
 */
function trustProxyProblems(trustProxy: Sections['trustProxy']): string[] {
  const everyone = trustProxy === true ||
    (typeof trustProxy === 'string' && trustProxy.split(',').some((entry) => /\/0$/.test(entry.trim())))
  return everyone
    ? ['trustProxy: must not trust every address in production (clients could choose their own); set the number of proxy hops or the proxies\' addresses or subnets']
    : []
}
