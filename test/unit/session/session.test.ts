import { describe, expect, it } from 'vitest'
import { readSubject, sessionExpiresAt, sessionTtlSeconds, userClaims } from '../../../src/session/session.js'

const timeouts = { idleTimeoutSeconds: 1800, absoluteTimeoutSeconds: 86400 }

describe('session helpers', () => {
  it('when the subject is a dotted path or a number, then it is found and returned as a string', () => {
    expect(readSubject({ data: { id: 42 } }, 'data.id')).toBe('42')
    expect(readSubject({ userId: 'u-1' }, 'userId')).toBe('u-1')
    expect(readSubject({ sub: '' }, 'sub')).toBeUndefined()
    expect(readSubject({ sub: { nested: true } }, 'sub')).toBeUndefined()
    expect(readSubject(undefined, 'sub')).toBeUndefined()
  })

  it('when claims come from an ID token, then protocol claims are dropped and the first source wins', () => {
    expect(userClaims({ sub: 'a', name: 'A', nonce: 'n', iss: 'x', at_hash: 'h' }, { name: 'B', email: 'e' })).toEqual({
      sub: 'a', name: 'A', email: 'e',
    })
  })

  it('when a session is young, then its TTL is the idle timeout; near the absolute end, the time left', () => {
    const created = 1_000_000
    expect(sessionTtlSeconds(created, created + 1000, timeouts)).toBe(1800)
    expect(sessionTtlSeconds(created, created + (86400 - 60) * 1000, timeouts)).toBe(60)
    expect(sessionTtlSeconds(created, created + 86401 * 1000, timeouts)).toBeLessThanOrEqual(0)
  })

  it('when sessionExpiresAt is computed, then it is the earlier of the idle and absolute ends', () => {
    const created = 1_000_000_000
    expect(sessionExpiresAt({ createdAt: created }, created, timeouts)).toBe(Math.floor((created + 1800_000) / 1000))
    const late = created + (86400 - 100) * 1000
    expect(sessionExpiresAt({ createdAt: created }, late, timeouts)).toBe(Math.floor((created + 86400_000) / 1000))
  })
})
