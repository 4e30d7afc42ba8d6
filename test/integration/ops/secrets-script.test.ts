import { describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { parseConfig } from '../../../src/config/load.js'
import { validRaw } from '../../unit/config/fixtures.js'

const root = fileURLToPath(new URL('../../../', import.meta.url))

/** `npm run --silent secrets`: the same command line package.json runs. */
function secrets(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'scripts/secrets.ts', ...args], { cwd: root, encoding: 'utf8' })
}

const envOf = (stdout: string): Record<string, string> =>
  Object.fromEntries(stdout.split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => [l.split('=')[0], l.slice(l.indexOf('=') + 1)]))

describe('npm run secrets', () => {
  it('when run, then it prints BFF_SESSION_SECRETS and BFF_TOKEN_KEYS lines of 256 random bits that a production config accepts', () => {
    const run = secrets()
    expect(run.status, run.stderr).toBe(0)
    const env = envOf(run.stdout)
    expect(Object.keys(env).sort()).toEqual(['BFF_SESSION_SECRETS', 'BFF_TOKEN_KEYS'])
    for (const value of Object.values(env)) {
      expect(value).toMatch(/^[A-Za-z0-9_-]{43}$/)
      expect(Buffer.from(value, 'base64url')).toHaveLength(32)
    }
    expect(env.BFF_SESSION_SECRETS).not.toBe(env.BFF_TOKEN_KEYS)
    const raw = { ...validRaw(), session: undefined, tokens: undefined }
    const config = parseConfig(raw, { ...env, NODE_ENV: 'production' })
    expect(config.session.secrets).toEqual([env.BFF_SESSION_SECRETS])
    expect(config.tokens.encryptionKeys).toEqual([env.BFF_TOKEN_KEYS])
    for (const line of run.stdout.split('\n').filter(Boolean)) expect(line).toMatch(/^(#|BFF_[A-Z_]+=)/)
  })

  it('when run twice, then the secrets differ', () => {
    expect(envOf(secrets().stdout).BFF_TOKEN_KEYS).not.toBe(envOf(secrets().stdout).BFF_TOKEN_KEYS)
  })

  it('when given an argument, then it exits 2 with the usage and prints no secret', () => {
    const run = secrets('--rotate')
    expect(run.status).toBe(2)
    expect(run.stdout).toBe('')
  })
})
