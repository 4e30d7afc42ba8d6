import { describe, expect, it } from 'vitest'
import { runConfigCheck } from '../../../src/config/check.js'
import { validRaw, writeTemp } from './fixtures.js'

function run(env: NodeJS.ProcessEnv): { code: number; text: string } {
  let text = ''
  const code = runConfigCheck(env, { write: (chunk: string) => (text += chunk) })
  return { code, text }
}

describe('runConfigCheck', () => {
  it('when the config is valid, then it prints one OK line without secrets and returns 0', () => {
    const path = writeTemp('bff.json', JSON.stringify(validRaw()))
    const { code, text } = run({ BFF_CONFIG: path, BFF_CLIENT_SECRET: 'env-client-secret' })
    expect(code).toBe(0)
    expect(text).toBe('config OK: https://app.example.com, provider https://idp.example.com/, 1 apis\n')
  })

  it('when the config is invalid, then it prints every problem and returns 1', () => {
    const raw = { ...validRaw(), port: 'x', session: { secrets: ['short-secret-value'] }, basePath: '/' }
    const { code, text } = run({ BFF_CONFIG: writeTemp('bff.json', JSON.stringify(raw)), NODE_ENV: 'production' })
    expect(code).toBe(1)
    expect(text).toMatch(/^invalid configuration \(3 problems\)/)
    expect(text).toContain('  - port: ')
    expect(text).toContain('  - basePath: ')
    expect(text).toContain('  - session.secrets[0]: must be at least 32 characters in production')
    expect(text).not.toContain('short-secret-value')
  })

  it('when BFF_CONFIG is missing, then it says so and returns 1', () => {
    expect(run({})).toEqual({ code: 1, text: expect.stringContaining('BFF_CONFIG: required') as string })
  })

  it('when the password grant is enabled and redis is absent, then the OK line is followed by warnings', () => {
    const raw = { ...validRaw(), redis: undefined, provider: { ...(validRaw().provider as object), passwordGrant: true } }
    const { code, text } = run({ BFF_CONFIG: writeTemp('bff.json', JSON.stringify(raw)) })
    expect(code).toBe(0)
    expect(text.split('\n').filter((line) => line.startsWith('warning: '))).toHaveLength(2)
  })

  it('when redis TLS accepts any certificate, then the OK line is followed by a warning naming the key', () => {
    const raw = { ...validRaw(), redis: { url: 'redis://127.0.0.1:6379', tls: { rejectUnauthorized: false } } }
    const { code, text } = run({ BFF_CONFIG: writeTemp('bff.json', JSON.stringify(raw)) })
    expect(code).toBe(0)
    expect(text).toContain('warning: redis.tls.rejectUnauthorized is false')
  })
})
