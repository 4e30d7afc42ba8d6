import { describe, expect, it } from 'vitest'
import { parseMemo } from '../../../src/session/parse-memo.js'

describe('parseMemo', () => {
  it('when the same text is read again for a key, then the value parsed before comes back, without parsing', () => {
    let parses = 0
    const memo = parseMemo((raw: string) => (parses++, JSON.parse(raw) as { n: number }))
    const first = memo.of('k', '{"n":1}')
    expect(memo.of('k', '{"n":1}')).toBe(first)
    expect(parses).toBe(1)
  })

  it('when the text of a key changes, then the new text is parsed and read from then on', () => {
    const memo = parseMemo((raw: string) => JSON.parse(raw) as { n: number })
    expect(memo.of('k', '{"n":1}').n).toBe(1)
    expect(memo.of('k', '{"n":2}').n).toBe(2)
    expect(memo.of('other', '{"n":1}').n).toBe(1)
  })

  it('when a caller tries to change a value, at any depth, then it cannot', () => {
    const memo = parseMemo((raw: string) => JSON.parse(raw) as { sub: string; claims: { address: { city: string } } })
    const value = memo.of('k', '{"sub":"alice","claims":{"address":{"city":"Oslo"}}}')
    expect(() => ((value as { sub: string }).sub = 'mallory')).toThrow(TypeError)
    expect(() => ((value.claims.address as { city: string }).city = 'Nowhere')).toThrow(TypeError)
    expect(memo.of('k', '{"sub":"alice","claims":{"address":{"city":"Oslo"}}}').claims.address.city).toBe('Oslo')
  })

  it('when a key is forgotten or more keys than the bound are read, then nothing wrong is ever returned', () => {
    const memo = parseMemo((raw: string) => JSON.parse(raw) as { n: number }, 2)
    memo.of('a', '{"n":1}')
    memo.forget('a')
    expect(memo.of('a', '{"n":3}').n).toBe(3)
    for (const k of ['b', 'c', 'd']) memo.of(k, `{"n":"${k}"}`)
    expect(memo.of('b', '{"n":"b"}').n).toBe('b')
  })
})
