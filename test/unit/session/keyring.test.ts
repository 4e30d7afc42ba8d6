import { describe, expect, it } from 'vitest'
import { createKeyRing } from '../../../src/session/keyring.js'

const k1 = 'first-key-0123456789abcdef0123456789abcdef'
const k2 = 'second-key-0123456789abcdef0123456789abcdef'

describe('key ring (grants at rest)', () => {
  it('when a record is sealed, then it opens to the same text and holds none of it in clear', () => {
    const ring = createKeyRing([k1])
    const sealed = ring.seal('{"refreshToken":"rt-secret-value"}', 'grant:1')
    expect(sealed).not.toContain('rt-secret-value')
    expect(ring.open(sealed, 'grant:1')).toBe('{"refreshToken":"rt-secret-value"}')
  })

  it('when the keys rotate (new key first, old kept), then old records still open and new ones use the new key', () => {
    const old = createKeyRing([k1]).seal('payload', 'grant:1')
    const rotated = createKeyRing([k2, k1])
    expect(rotated.open(old, 'grant:1')).toBe('payload')
    const fresh = rotated.seal('payload', 'grant:1')
    expect(() => createKeyRing([k1]).open(fresh, 'grant:1')).toThrow()
    expect(createKeyRing([k2]).open(fresh, 'grant:1')).toBe('payload')
  })

  it('when the old key is dropped, then records sealed with it no longer open', () => {
    const old = createKeyRing([k1]).seal('payload', 'grant:1')
    expect(() => createKeyRing([k2]).open(old, 'grant:1')).toThrow(/not in the key ring/)
  })

  it('when a sealed record is moved to another id or tampered with, then it does not open', () => {
    const ring = createKeyRing([k1])
    const sealed = ring.seal('payload', 'grant:1')
    expect(() => ring.open(sealed, 'grant:2')).toThrow()
    const parts = sealed.split('.')
    const body = Buffer.from(parts[3]!, 'base64url')
    body[body.length - 1] = body[body.length - 1]! ^ 1
    parts[3] = body.toString('base64url')
    expect(() => ring.open(parts.join('.'), 'grant:1')).toThrow()
  })

  it('when the same text is sealed twice, then the ciphertexts differ (fresh data key and IV)', () => {
    const ring = createKeyRing([k1])
    expect(ring.seal('x', 'a')).not.toBe(ring.seal('x', 'a'))
  })
})
