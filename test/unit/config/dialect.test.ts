import { describe, expect, it, vi } from 'vitest'
import { parseConfig } from '../../../src/config/load.js'
import { problemsOf, validRaw } from './fixtures.js'

// the presets' content belongs to the dialects' own tests; here only the precedence explicit > preset > default
vi.mock('../../../src/oauth/dialects/index.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../../src/oauth/dialects/index.js')>()),
  resolveDialect: vi.fn((name: string, input: { baseUrl?: URL }) =>
    input.baseUrl === undefined
      ? { preset: {}, problems: [`provider.baseUrl: the ${name} dialect needs it`] }
      : {
          preset: {
            authorizationEndpoint: new URL('/authorize', input.baseUrl),
            tokenEndpoint: new URL('/token', input.baseUrl),
            scopeSeparator: ',',
            scopes: ['read', 'write'],
            clientAuth: 'client_secret_json',
          },
          problems: [],
        },
  ),
}))

const provider = { dialect: 'sami', baseUrl: 'https://accounts.example.com', clientId: 'bff', clientSecret: 'x' }

describe('parseConfig with a dialect', () => {
  it('when a dialect and baseUrl are given, then the preset sets the endpoints and quirks', () => {
    const config = parseConfig({ ...validRaw(), provider }, {})
    expect(config.provider.tokenEndpoint?.href).toBe('https://accounts.example.com/token')
    expect(config.provider).toMatchObject({ scopeSeparator: ',', scopes: ['read', 'write'], clientAuth: 'client_secret_json' })
    expect(config.provider.responseType).toBe('code')
  })

  it('when an explicit key is also set, then it overrides the preset', () => {
    const raw = { ...validRaw(), provider: { ...provider, scopeSeparator: ' ', tokenEndpoint: 'https://other.example.com/t' } }
    const config = parseConfig(raw, {})
    expect(config.provider.scopeSeparator).toBe(' ')
    expect(config.provider.tokenEndpoint?.href).toBe('https://other.example.com/t')
    expect(config.provider.authorizationEndpoint?.href).toBe('https://accounts.example.com/authorize')
  })

  it('when the dialect reports a problem, then it is passed on without a second problem for the same key', () => {
    const raw = { ...validRaw(), provider: { dialect: 'sami', clientId: 'bff', clientSecret: 'x' } }
    expect(problemsOf(raw)).toEqual(['provider.baseUrl: the sami dialect needs it'])
  })
})
