import { describe, expect, it } from 'vitest'
import { ConfigError, parseConfig } from '../../../src/config/load.js'
import { key32, problemsOf, secret32, validRaw } from './fixtures.js'

const withApis = (...apis: unknown[]) => ({ ...validRaw(), apis })
const prod = { NODE_ENV: 'production' }

describe('parseConfig collects every problem', () => {
  it('when four keys are wrong, then one ConfigError lists four problems, each naming its key', () => {
    const raw = {
      ...validRaw(),
      port: 'eighty',
      session: { secrets: [] },
      tokens: { encryptionKeys: ['short'] },
      provider: { issuer: 'https://idp.example.com', clientSecret: 'x' },
    }
    expect(problemsOf(raw)).toEqual([
      'port: Invalid input: expected number, received string',
      'session.secrets: needs at least one secret',
      'tokens.encryptionKeys[0]: must be at least 32 characters',
      'provider.clientId: required',
    ])
  })

  it('when the config is invalid, then the message lists every problem on its own line', () => {
    const raw = { ...validRaw(), port: -1, basePath: 'bff' }
    expect(() => parseConfig(raw, {})).toThrow(ConfigError)
    expect(() => parseConfig(raw, {})).toThrow(/2 problems\):\n {2}- port: .*\n {2}- basePath: must start with \//)
  })

  it('when required sections are missing, then each missing key is named', () => {
    expect(problemsOf({ publicUrl: 'https://app.example.com', provider: { issuer: 'https://idp.example.com' } })).toEqual([
      'session.secrets: required',
      'tokens.encryptionKeys: required',
      'provider.clientId: required',
      'provider.clientSecret: required',
    ])
  })

  it('when a key has a schema error and another breaks a cross-key rule, then both are reported', () => {
    const raw = { ...validRaw(), port: 'x', session: { secrets: [secret32], idleTimeoutSeconds: 90000 } }
    expect(problemsOf(raw)).toEqual([
      'port: Invalid input: expected number, received string',
      'session.idleTimeoutSeconds: must not exceed session.absoluteTimeoutSeconds',
    ])
  })

  it('when a problem concerns a secret, then the message never contains the value', () => {
    const raw = { ...validRaw(), tokens: { encryptionKeys: ['tooshort-secret-value'] } }
    const message = (() => {
      try {
        parseConfig(raw, {})
      } catch (err) {
        return (err as Error).message
      }
      return ''
    })()
    expect(message).toMatch(/tokens.encryptionKeys\[0\]/)
    expect(message).not.toMatch(/tooshort-secret-value/)
  })
})

describe('parseConfig unknown keys', () => {
  it('when a key is misspelt, then it is refused by name with a suggestion', () => {
    const raw = { ...validRaw(), provider: { issuer: 'https://idp.example.com', clientId: 'bff', clientSecert: 'x' } }
    expect(problemsOf(raw)).toContain('provider.clientSecert: unknown key (did you mean clientSecret?)')
  })

  it('when a key is written in snake_case, then the camelCase key is suggested', () => {
    expect(problemsOf({ ...validRaw(), base_path: '/bff' })).toEqual(['base_path: unknown key (did you mean basePath?)'])
  })

  it('when an API entry has an unknown key, then the entry index is named', () => {
    expect(problemsOf(withApis({ path: '/api', target: 'http://a', tokne: 'user' }))).toEqual([
      'apis[0].tokne: unknown key (did you mean token?)',
    ])
  })
})

describe('parseConfig URLs and paths', () => {
  it('when publicUrl has a path, then it is refused as not an origin', () => {
    expect(problemsOf({ ...validRaw(), publicUrl: 'https://app.example.com/app' })).toEqual([
      'publicUrl: must be an origin only (no path, query, fragment or credentials)',
    ])
  })

  it('when basePath has a trailing slash, then it is refused', () => {
    expect(problemsOf({ ...validRaw(), basePath: '/bff/' })[0]).toMatch(/^basePath: must start with \/ and have no trailing slash/)
  })

  it('when the provider has neither issuer, dialect nor endpoints, then the provider key says what to set', () => {
    const raw = { ...validRaw(), provider: { clientId: 'bff', clientSecret: 'x' } }
    expect(problemsOf(raw)).toEqual(['provider: set issuer, or dialect and baseUrl, or authorizationEndpoint and tokenEndpoint'])
  })

  it('when explicit endpoints are given without an issuer, then they become URL objects', () => {
    const provider = {
      clientId: 'bff',
      clientSecret: 'x',
      authorizationEndpoint: 'https://idp.example.com/authorize',
      tokenEndpoint: 'https://idp.example.com/token',
      clientAuth: 'client_secret_post',
    }
    const config = parseConfig({ ...validRaw(), provider }, {})
    expect(config.provider.tokenEndpoint).toEqual(new URL('https://idp.example.com/token'))
    expect(config.provider.issuer).toBeUndefined()
    expect(config.provider.clientAuth).toBe('client_secret_post')
  })

  it('when a dialect is named without baseUrl, issuer or endpoints, then provider.baseUrl is named once', () => {
    const raw = { ...validRaw(), provider: { dialect: 'sami', clientId: 'bff', clientSecret: 'x' } }
    const problems = problemsOf(raw)
    expect(problems.filter((problem) => problem.startsWith('provider.baseUrl:'))).toHaveLength(1)
  })

  it('when only an authorization endpoint is given, then provider.tokenEndpoint is required', () => {
    const provider = { clientId: 'bff', clientSecret: 'x', authorizationEndpoint: 'https://idp.example.com/authorize' }
    expect(problemsOf({ ...validRaw(), provider })).toEqual(['provider.tokenEndpoint: required without provider.issuer'])
  })

  it('when the password grant is on, then a token endpoint alone is enough', () => {
    const provider = { clientId: 'bff', clientSecret: 'x', tokenEndpoint: 'https://idp.example.com/token', passwordGrant: true }
    expect(parseConfig({ ...validRaw(), provider }, {}).provider.authorizationEndpoint).toBeUndefined()
  })

  it('when baseUrl is set without a dialect, then it is refused as having no effect', () => {
    const provider = { ...(validRaw().provider as object), baseUrl: 'https://idp.example.com' }
    expect(problemsOf({ ...validRaw(), provider })).toEqual(['provider.baseUrl: has no effect without provider.dialect'])
  })

  it('when authorizationParams overrides a parameter the broker sets, then it is refused', () => {
    const provider = { ...(validRaw().provider as object), authorizationParams: { state: 'fixed', prompt: 'login' } }
    expect(problemsOf({ ...validRaw(), provider })).toEqual([
      'provider.authorizationParams.state: set by the broker; use the matching provider key instead',
    ])
  })
})

describe('parseConfig apis', () => {
  it('when an API is anonymous with token user, then it is refused', () => {
    expect(problemsOf(withApis({ path: '/api/pub', target: 'http://pub', anonymous: true }))).toEqual([
      'apis[0].anonymous: allowed only with token client or none (token is user)',
    ])
  })

  it('when an API is anonymous with token client or none, then it is accepted', () => {
    const config = parseConfig(
      withApis(
        { path: '/api/a', target: 'http://a', anonymous: true, token: 'client' },
        { path: '/api/b', target: 'http://b', anonymous: true, token: 'none' },
        { path: '/api/c', target: 'http://c', token: 'user-or-client', scopes: ['read:c'], resource: 'https://c.example.com' },
      ),
      {},
    )
    expect(config.apis.map((api) => api.token)).toEqual(['client', 'none', 'user-or-client'])
  })

  it('when two APIs share a path, then the second is named as a duplicate', () => {
    expect(problemsOf(withApis({ path: '/api', target: 'http://a' }, { path: '/api', target: 'http://b' }))).toEqual([
      'apis[1].path: duplicate of apis[0].path (/api)',
    ])
  })

  it('when an API path overlaps basePath, then it is refused whichever way round', () => {
    expect(problemsOf(withApis({ path: '/bff/api', target: 'http://a' }, { path: '/bff', target: 'http://b' }))).toEqual([
      'apis[0].path: overlaps basePath /bff',
      'apis[1].path: overlaps basePath /bff',
    ])
  })

  it('when an API path would shadow /metrics, then it is refused', () => {
    expect(problemsOf(withApis({ path: '/metrics', target: 'http://a' }))).toEqual(["apis[0].path: overlaps the broker's /metrics"])
  })

  it('when an API path has a trailing slash or a target has a query, then both are named', () => {
    expect(problemsOf(withApis({ path: '/api/', target: 'http://a/v1?x=1' }))).toEqual([
      'apis[0].path: must start with / and have no trailing slash (letters, digits, - _ . ~ per segment)',
      'apis[0].target: must not carry a query or fragment',
    ])
  })

  it('when a target is not http(s), then it is refused', () => {
    expect(problemsOf(withApis({ path: '/api', target: 'ftp://files' }))).toEqual(['apis[0].target: must be an http(s) URL'])
  })
})

describe('parseConfig in production', () => {
  it('when publicUrl is http on a public host, then it is refused', () => {
    expect(problemsOf({ ...validRaw(), publicUrl: 'http://app.example.com' }, prod)).toEqual([
      'publicUrl: must be https in production (http only on localhost, 127.0.0.1 or [::1])',
    ])
  })

  it.each(['http://localhost:3000', 'http://127.0.0.1:8080', 'http://[::1]:3000'])(
    'when publicUrl is %s, then http on loopback is allowed',
    (publicUrl) => {
      expect(parseConfig({ ...validRaw(), publicUrl }, prod).publicUrl.protocol).toBe('http:')
    },
  )

  it('when a session secret is shorter than 32 characters, then it is named by index', () => {
    const raw = { ...validRaw(), session: { secrets: [secret32, 'short'] } }
    expect(problemsOf(raw, prod)).toEqual(['session.secrets[1]: must be at least 32 characters in production'])
    expect(parseConfig(raw, {}).session.secrets).toHaveLength(2)
  })

  it('when no redis is configured, then redis.url is required', () => {
    expect(problemsOf({ ...validRaw(), redis: undefined }, prod)).toEqual([
      'redis.url: required in production (or redis.sentinel or redis.cluster; env REDIS_URL)',
    ])
  })

  it('when a Sentinel is configured instead of a url, then production accepts it', () => {
    const redis = { sentinel: { name: 'mymaster', nodes: [{ host: 's1', port: 26379 }] } }
    expect(parseConfig({ ...validRaw(), redis }, prod).redis.sentinel?.name).toBe('mymaster')
  })

  it('when redis names both a url and a cluster, then it is refused as ambiguous', () => {
    const redis = { url: 'redis://r:6379', cluster: { nodes: [{ host: 'c1', port: 7000 }] } }
    expect(problemsOf({ ...validRaw(), redis })).toEqual(['redis: set only one of url, sentinel, cluster (got url, cluster)'])
  })

  it('when every production rule is broken, then all three are reported together', () => {
    const raw = { ...validRaw(), publicUrl: 'http://app.example.com', redis: undefined, session: { secrets: ['x'] } }
    expect(problemsOf(raw, prod)).toHaveLength(3)
    expect(problemsOf({ ...raw, tokens: { encryptionKeys: [key32] } }, prod)).toHaveLength(3)
  })
})
