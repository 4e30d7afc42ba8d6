import { describe, expect, it } from 'vitest'
import { redisKeys } from '../../../src/session/keys.js'

const keys = redisKeys('bff:')
const grantKeys = [
  keys.grant('g1'),
  keys.grantLock('g1'),
  keys.refreshBackoff('g1'),
  keys.rotated('g1', 'h'),
  keys.offlineGrant('g1'),
  keys.offlineSuperseded('g1'),
]
const untagged = [
  keys.session('s1'),
  keys.clientCredentials('orders'),
  keys.clientCredentialsLock('orders'),
  keys.loginTransaction('st'),
  keys.indexBySub('alice'),
  keys.indexBySid('psid'),
  keys.rateLimit('password', 7, 'h'),
  keys.handoff('h'),
  keys.dpopJti('h'),
  keys.job('h'),
]

// the Redis Cluster specification's rule: the first `{`, and the first `}` after it, around a non-empty tag
const hashTag = (key: string): string | undefined => {
  const open = key.indexOf('{')
  const close = open < 0 ? -1 : key.indexOf('}', open + 1)
  return close > open + 1 ? key.slice(open + 1, close) : undefined
}

describe('Redis key layout', () => {
  it('when keys are built, then they have the documented strings', () => {
    expect([...grantKeys, ...untagged]).toEqual([
      'bff:grant:{g1}',
      'bff:lock:grant:{g1}',
      'bff:backoff:grant:{g1}',
      'bff:rotated:{g1}:h',
      'bff:offline:{g1}',
      'bff:offline-newer:{g1}',
      'bff:sess:s1',
      'bff:cc:orders',
      'bff:lock:cc:orders',
      'bff:login:st',
      'bff:idx:sub:alice',
      'bff:idx:sid:psid',
      'bff:rl:password:7:h',
      'bff:handoff:h',
      'bff:dpop:jti:h',
      'bff:job:h',
    ])
    expect(keys.session('s1').startsWith(keys.sessionPrefix)).toBe(true)
  })

  it('when the keys of one grant are built, then every one carries the grant id as its hash tag (one slot)', () => {
    for (const key of grantKeys) expect(hashTag(key)).toBe('g1')
    expect(hashTag(keys.grant('g2'))).toBe('g2')
  })

  it('when single-key objects are built and the prefix carries no braces, then they carry no hash tag (spread over the slots)', () => {
    for (const key of untagged) expect(hashTag(key)).toBeUndefined()
  })
})
