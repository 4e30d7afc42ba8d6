import { describe, expect, it } from 'vitest'
import { createGrantStore, type Grant } from '../../../src/session/grant-store.js'
import { createKeyRing } from '../../../src/session/keyring.js'
import { createMemoryStore } from '../../../src/session/memory-store.js'

const ring = createKeyRing(['grant-store-key-0123456789abcdef0123456789'])
const grant = (id: string, accessToken: string): Grant => ({
  id, subject: 'alice', tokens: { accessToken, tokenType: 'Bearer' }, apiTokens: {}, createdAt: 1, version: 1,
})

describe('grant store: one open per ciphertext', () => {
  it('when the same sealed record is read again, then the same frozen grant comes back; a rewrite is opened anew', async () => {
    const store = createMemoryStore()
    const grants = createGrantStore({ store, keyRing: ring, prefix: 't:' })
    await grants.put(grant('g1', 'at-1'), 60_000)
    const first = await grants.get('g1')
    expect(first?.tokens.accessToken).toBe('at-1')
    expect(await grants.get('g1')).toBe(first)
    expect(Object.isFrozen(first?.tokens)).toBe(true)
    await grants.put({ ...grant('g1', 'at-2'), version: 2 }, 60_000)
    expect((await grants.get('g1'))?.tokens.accessToken).toBe('at-2')
  })

  it('when one grant\'s record is read under another id, then it does not open (the id is the seal\'s associated data)', async () => {
    const store = createMemoryStore()
    const grants = createGrantStore({ store, keyRing: ring, prefix: 't:' })
    await grants.put(grant('g1', 'at-1'), 60_000)
    const sealed = await store.get(grants.key('g1'))
    expect(grants.open('g1', sealed)?.tokens.accessToken).toBe('at-1')
    expect(grants.open('g2', sealed)).toBeUndefined()
    expect(grants.open('g1', undefined)).toBeUndefined()
  })
})
