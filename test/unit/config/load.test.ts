import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig, parseConfig } from '../../../src/config/load.js'
import { key32, problemsOf, secret32, validRaw, writeTemp } from './fixtures.js'

const yamlFile = `
publicUrl: https://app.example.com
port: 8080
redis: { url: "redis://127.0.0.1:6379", keyPrefix: "t:" }
session:
  secrets: [${secret32}]
  sameSite: lax
tokens:
  encryptionKeys: [${key32}]
provider:
  issuer: https://idp.example.com
  clientId: bff
  clientSecret: file-secret
  scopes: [openid, profile, offline_access]
  authorizationParams: { prompt: consent }
apis:
  - path: /api/orders
    target: http://orders.internal:8080/v1
    timeoutMs: 5000
`

describe('loadConfig', () => {
  it('when BFF_CONFIG names a valid YAML file, then the config has its values, the defaults and URL objects', () => {
    const config = loadConfig({ BFF_CONFIG: writeTemp('bff.yaml', yamlFile) })
    expect(config.publicUrl).toBeInstanceOf(URL)
    expect(config.publicUrl.origin).toBe('https://app.example.com')
    expect(config.port).toBe(8080)
    expect(config.basePath).toBe('/bff')
    expect(config.trustProxy).toBe(false)
    expect(config.redis).toEqual({ url: new URL('redis://127.0.0.1:6379'), keyPrefix: 't:', replicaAck: { replicas: 0, timeoutMs: 1500 } })
    expect(config.session).toMatchObject({ sameSite: 'lax', idleTimeoutSeconds: 1800, absoluteTimeoutSeconds: 86400 })
    expect(config.tokens.refreshSkewSeconds).toBe(60)
    expect(config.provider).toMatchObject({
      clientAuth: 'client_secret_basic',
      scopes: ['openid', 'profile', 'offline_access'],
      scopeSeparator: ' ',
      responseType: 'code',
      subjectClaim: 'sub',
      passwordGrant: false,
      logoutIdTokenHint: true,
      pkce: true,
      timeoutMs: 10000,
      authorizationParams: { prompt: 'consent' },
    })
    expect(config.provider.issuer?.href).toBe('https://idp.example.com/')
    expect(config.apis).toEqual([
      {
        path: '/api/orders',
        target: new URL('http://orders.internal:8080/v1'),
        token: 'user',
        timeoutMs: 5000,
        anonymous: false,
        websocket: false,
        websocketMaxLifetimeSeconds: 3600,
        passSetCookie: false,
      },
    ])
    expect(config.logLevel).toBe('info')
    expect(config.production).toBe(false)
  })

  it('when BFF_CONFIG names a JSON file with the same content, then the config equals the YAML one', () => {
    const fromYaml = loadConfig({ BFF_CONFIG: writeTemp('bff.yml', yamlFile) })
    const json = JSON.stringify({
      ...validRaw(),
      port: 8080,
      redis: { url: 'redis://127.0.0.1:6379', keyPrefix: 't:' },
      session: { secrets: [secret32], sameSite: 'lax' },
      provider: {
        issuer: 'https://idp.example.com',
        clientId: 'bff',
        clientSecret: 'file-secret',
        scopes: ['openid', 'profile', 'offline_access'],
        authorizationParams: { prompt: 'consent' },
      },
      apis: [{ path: '/api/orders', target: 'http://orders.internal:8080/v1', timeoutMs: 5000 }],
    })
    expect(loadConfig({ BFF_CONFIG: writeTemp('bff.json', json) })).toEqual(fromYaml)
  })

  it('when BFF_CONFIG is unset, then the error names BFF_CONFIG', () => {
    expect(() => loadConfig({})).toThrow(/BFF_CONFIG: required/)
  })

  it('when the file has another extension, then it is refused without being read', () => {
    expect(() => loadConfig({ BFF_CONFIG: writeTemp('bff.toml', 'x = 1') })).toThrow(/\.json, \.yaml or \.yml/)
  })

  it('when the file does not exist, then the error names the path and the cause', () => {
    expect(() => loadConfig({ BFF_CONFIG: '/nonexistent/bff.yaml' })).toThrow(/cannot read \/nonexistent\/bff.yaml \(ENOENT\)/)
  })

  it('when the YAML is malformed, then the error gives a position but not the line, which may hold a secret', () => {
    const path = writeTemp('bff.yaml', 'provider:\n  clientSecret: "hunter2\n')
    expect(() => loadConfig({ BFF_CONFIG: path })).toThrow(ConfigError)
    expect(() => loadConfig({ BFF_CONFIG: path })).toThrow(/invalid YAML .*line \d+/)
    expect(() => loadConfig({ BFF_CONFIG: path })).not.toThrow(/hunter2/)
  })

  it('when the JSON is malformed, then the error never quotes the file', () => {
    const path = writeTemp('bff.json', '{"provider": {"clientSecret": hunter2}}')
    expect(() => loadConfig({ BFF_CONFIG: path })).toThrow(/invalid JSON/)
    expect(() => loadConfig({ BFF_CONFIG: path })).not.toThrow(/hunter2/)
  })

  it('when the file is empty, then the error says the config must be a mapping', () => {
    expect(() => loadConfig({ BFF_CONFIG: writeTemp('bff.yaml', '') })).toThrow(/config: must be a mapping/)
  })
})

describe('parseConfig env overrides', () => {
  it('when secrets come from the environment, then they win over the file and lists split on commas', () => {
    const env = {
      BFF_CLIENT_SECRET: 'env-secret',
      BFF_SESSION_SECRETS: ` ${'a'.repeat(32)} , ${'b'.repeat(32)} `,
      BFF_TOKEN_KEYS: `${'c'.repeat(32)},${'d'.repeat(32)}`,
      REDIS_URL: 'rediss://cache.internal:6380',
    }
    const config = parseConfig(validRaw(), env)
    expect(config.provider.clientSecret).toBe('env-secret')
    expect(config.session.secrets).toEqual(['a'.repeat(32), 'b'.repeat(32)])
    expect(config.tokens.encryptionKeys).toEqual(['c'.repeat(32), 'd'.repeat(32)])
    expect(config.redis.url?.href).toBe('rediss://cache.internal:6380')
  })

  it('when the file has no secrets at all, then the environment alone supplies them', () => {
    const raw = validRaw()
    delete raw.session
    delete raw.tokens
    raw.provider = { issuer: 'https://idp.example.com', clientId: 'bff' }
    const env = { BFF_CLIENT_SECRET: 'env-secret', BFF_SESSION_SECRETS: secret32, BFF_TOKEN_KEYS: key32 }
    expect(parseConfig(raw, env).provider.clientSecret).toBe('env-secret')
  })

  it('when an override variable is empty, then the file value stays', () => {
    expect(parseConfig(validRaw(), { BFF_CLIENT_SECRET: '' }).provider.clientSecret).toBe('file-secret')
  })

  it('when PORT is set, then it wins over the file\'s port, and a PORT that is not a number is an error naming port', () => {
    expect(parseConfig({ ...validRaw(), port: 8080 }, { PORT: '8081' }).port).toBe(8081)
    expect(parseConfig({ ...validRaw(), port: 8080 }, { PORT: '' }).port).toBe(8080)
    expect(problemsOf({ ...validRaw(), port: 8080 }, { PORT: 'eighty' })).toEqual([expect.stringMatching(/^port: /)])
  })

  it('when REDIS_URL is set and the file names a Sentinel, then REDIS_URL replaces the Sentinel', () => {
    const raw = { ...validRaw(), redis: { sentinel: { name: 'mymaster', nodes: [{ host: 's1', port: 26379 }] } } }
    const config = parseConfig(raw, { REDIS_URL: 'redis://r:6379' })
    expect(config.redis).toEqual({ url: new URL('redis://r:6379'), keyPrefix: 'bff:', replicaAck: { replicas: 0, timeoutMs: 1500 } })
  })
})

describe('parseConfig derived values', () => {
  it('when publicUrl is https, then the cookies are __Host- prefixed and secure', () => {
    const { session } = parseConfig(validRaw(), {})
    expect(session).toMatchObject({ cookieName: '__Host-bff-session', loginCookieName: '__Host-bff-login', secure: true })
  })

  it('when publicUrl is http, then the cookies have plain names and are not secure', () => {
    const { session } = parseConfig({ ...validRaw(), publicUrl: 'http://localhost:3000' }, {})
    expect(session).toMatchObject({ cookieName: 'bff-session', loginCookieName: 'bff-login', secure: false })
  })

  it('when NODE_ENV is production, then production is true', () => {
    expect(parseConfig(validRaw(), { NODE_ENV: 'production' }).production).toBe(true)
  })

  it('when Sentinel or Cluster is configured, then session and grant writes wait for one replica by default; a single node waits for none; redis.waitForReplicas wins', () => {
    const nodes = [{ host: 'n1', port: 7000 }]
    const ack = (redis: Record<string, unknown>) => parseConfig({ ...validRaw(), redis }, {}).redis.replicaAck
    expect(ack({ sentinel: { name: 'mymaster', nodes } })).toEqual({ replicas: 1, timeoutMs: 1500 })
    expect(ack({ cluster: { nodes } })).toEqual({ replicas: 1, timeoutMs: 1500 })
    expect(ack({ url: 'redis://r:6379' })).toEqual({ replicas: 0, timeoutMs: 1500 })
    expect(ack({ cluster: { nodes }, waitForReplicas: 0, waitTimeoutMs: 200 })).toEqual({ replicas: 0, timeoutMs: 200 })
    expect(ack({ url: 'redis://r:6379', waitForReplicas: 2 })).toEqual({ replicas: 2, timeoutMs: 1500 })
  })

  it('when no redis is configured outside production, then the config is valid without a url', () => {
    const { redis } = parseConfig({ ...validRaw(), redis: undefined }, {})
    expect(redis).toEqual({ keyPrefix: 'bff:', replicaAck: { replicas: 0, timeoutMs: 1500 } })
  })

  it('when the config is loaded, then it is deep-frozen and a mutation throws', () => {
    const config = parseConfig(validRaw(), {})
    expect(Object.isFrozen(config)).toBe(true)
    expect(() => {
      ;(config as { port: number }).port = 1
    }).toThrow(TypeError)
    expect(() => {
      ;(config.session.secrets as string[]).push('x')
    }).toThrow(TypeError)
    expect(() => {
      ;(config.apis[0] as { path: string }).path = '/x'
    }).toThrow(TypeError)
    expect(() => {
      ;(config.provider as { clientId: string }).clientId = 'x'
    }).toThrow(TypeError)
  })

  it('when allowedReturnOrigins are given, then they are normalised to origins', () => {
    const raw = { ...validRaw(), allowedReturnOrigins: ['https://shop.example.com/', 'https://shop.example.com:443'] }
    expect(parseConfig(raw, {}).allowedReturnOrigins).toEqual(['https://shop.example.com'])
  })

  it('when allowedReturnOrigins holds a path or a non-http URL, then each bad entry is named', () => {
    const raw = { ...validRaw(), allowedReturnOrigins: ['https://ok.example.com', 'https://x.example.com/app', 'javascript:alert(1)'] }
    expect(problemsOf(raw)).toEqual([
      'allowedReturnOrigins[1]: must be an origin only (no path, query, fragment or credentials)',
      'allowedReturnOrigins[2]: must be an http(s) origin such as https://app.example.com',
    ])
  })
})
