import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { effectiveSkewSeconds, isExpired, needsRefresh, refreshJitter } from '../../../src/tokens/expiry.js'

const now = 1_700_000_000_000
const inSeconds = (s: number) => now / 1000 + s

describe('needsRefresh', () => {
  it('when more than the skew remains, then the token is fresh', () => {
    expect(needsRefresh(inSeconds(61), now, 60, 3600)).toBe(false)
  })

  it('when exactly the skew remains, then the token is still fresh (refresh when less remains)', () => {
    expect(needsRefresh(inSeconds(60), now, 60, 3600)).toBe(false)
  })

  it('when less than the skew remains, then the token needs a refresh', () => {
    expect(needsRefresh(inSeconds(59), now, 60, 3600)).toBe(true)
  })

  it('when the token has expired, then it needs a refresh', () => {
    expect(needsRefresh(inSeconds(-1), now, 60, 3600)).toBe(true)
  })

  it('when the lifetime is shorter than twice the skew, then the skew is capped at half the lifetime', () => {
    // 60 s token, 60 s skew: without the cap it would never be fresh
    expect(needsRefresh(inSeconds(31), now, 60, 60)).toBe(false)
    expect(needsRefresh(inSeconds(29), now, 60, 60)).toBe(true)
  })

  it('when the lifetime is unknown, then the full skew applies', () => {
    expect(needsRefresh(inSeconds(59), now, 60)).toBe(true)
  })

  it('when the token has no expiry, then it is treated as valid', () => {
    expect(needsRefresh(undefined, now, 60, 3600)).toBe(false)
    expect(isExpired(undefined, now)).toBe(false)
  })
})

describe('isExpired and effectiveSkewSeconds', () => {
  it('when the expiry instant is reached, then the token is expired, and one millisecond before it is not', () => {
    expect(isExpired(inSeconds(0), now)).toBe(true)
    expect(isExpired(inSeconds(0), now - 1)).toBe(false)
  })

  it('when the lifetime is zero or missing, then the configured skew is used unchanged', () => {
    expect(effectiveSkewSeconds(60, 0)).toBe(60)
    expect(effectiveSkewSeconds(60, undefined)).toBe(60)
    expect(effectiveSkewSeconds(60, 300)).toBe(60)
    expect(effectiveSkewSeconds(60, 90)).toBe(45)
  })
})

describe('refresh jitter', () => {
  it('when a crowd of grants gets tokens at the same second, then their refreshes spread over the later half of the skew window', () => {
    const ids = Array.from({ length: 2000 }, () => randomBytes(16).toString('base64url'))
    // the second (before expiry) at which each grant's 3600 s token, with a 60 s skew, first needs a refresh
    const refreshAt = ids.map((id) => {
      const jitter = refreshJitter(id)
      for (let left = 60; left > 0; left--) if (needsRefresh(inSeconds(left), now, 60, 3600, jitter)) return left
      return 0
    })
    expect(Math.max(...refreshAt)).toBeLessThanOrEqual(60)
    expect(Math.min(...refreshAt)).toBeGreaterThanOrEqual(30)
    // no one second takes more than a few percent of the crowd
    const perSecond = new Map<number, number>()
    for (const s of refreshAt) perSecond.set(s, (perSecond.get(s) ?? 0) + 1)
    expect(perSecond.size).toBeGreaterThanOrEqual(28)
    expect(Math.max(...perSecond.values())).toBeLessThan(ids.length * 0.08)
  })

  it('when the same grant is checked twice (another instance, or again under the lock), then the jitter is the same', () => {
    expect(refreshJitter('grant-a')).toBe(refreshJitter('grant-a'))
    expect(refreshJitter('grant-a')).not.toBe(refreshJitter('grant-b'))
    expect(refreshJitter('grant-a')).toBeGreaterThanOrEqual(0)
    expect(refreshJitter('grant-a')).toBeLessThan(0.5)
  })

  it('when the skew is capped at half a short lifetime, then the cap still holds with jitter', () => {
    // a 4 s token: refreshed once less than 2 s remain, whatever the jitter
    expect(needsRefresh(inSeconds(1.9), now, 60, 4, 0.49)).toBe(true)
    expect(needsRefresh(inSeconds(2.1), now, 60, 4, 0.49)).toBe(false)
  })
})
