import { describe, expect, it } from 'vitest'
import { effectiveSkewSeconds, isExpired, needsRefresh } from '../../../src/tokens/expiry.js'

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
