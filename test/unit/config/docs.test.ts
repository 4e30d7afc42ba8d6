import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { configReference } from '../../../scripts/config-reference.js'
import { schemaKeys } from '../../../src/config/schema-keys.js'

describe('configReference', () => {
  it('when rendered, then every schema key has a row with a description', () => {
    const doc = configReference()
    for (const key of schemaKeys()) {
      expect(key.description, key.path).not.toBe('')
      expect(doc).toContain(`| \`${key.path}\` |`)
    }
  })

  it('when rendered, then defaults and env overrides appear in their columns', () => {
    const doc = configReference()
    expect(doc).toContain('| `port` | `3000` |')
    expect(doc).toMatch(/\| `provider.clientSecret` \| required \| `BFF_CLIENT_SECRET` \|/)
    expect(doc).toMatch(/\| `provider.clientAuth` \| `"client_secret_basic"` \|/)
    expect(doc).toMatch(/\| `redis.url` \| {2}\| `REDIS_URL` \|/)
  })

  it('when the schema changes, then docs/config-reference.md is regenerated to match', () => {
    const committed = readFileSync(new URL('../../../docs/config-reference.md', import.meta.url), 'utf8')
    expect(committed).toBe(configReference())
  })
})

describe('README config reference', () => {
  it('when the schema changes, then the table in README.md is regenerated to match', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8')
    const reference = configReference()
    expect(readme).toContain(reference.slice(reference.indexOf('| key |')).trimEnd())
  })
})
