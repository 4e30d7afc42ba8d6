import { describe, expect, it } from 'vitest'
import { redisKeys } from '../../../src/session/keys.js'

const keys = redisKeys('bff:')
const every = [
  keys.session('s1'),
  keys.grant('g1'),
  keys.grantLock('g1'),
  keys.rotated('h'),
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

describe('Redis key layout', () => {
  it('when keys are built, then they keep the strings earlier releases wrote (an upgrade loses no session)', () => {
    expect(every).toEqual([
      'bff:sess:s1',
      'bff:grant:g1',
      'bff:lock:grant:g1',
      'bff:rotated:h',
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

  it('when the prefix carries no braces, then no key carries a hash tag (each key is placed on its own)', () => {
    for (const key of every) expect(key).not.toMatch(/\{[^}]+\}/)
  })
})
