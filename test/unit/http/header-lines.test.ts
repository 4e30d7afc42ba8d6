import type { IncomingMessage } from 'node:http'
import { describe, expect, it } from 'vitest'
import { headerLineCount, headerLines } from '../../../src/http/header-lines.js'

const req = (rawHeaders: string[]) => ({ rawHeaders }) as unknown as IncomingMessage

describe('header lines', () => {
  it('when a header is sent twice in different cases among others, then both lines are found and counted, in order', () => {
    const r = req(['Host', 'a', 'authorization', 'Bearer one', 'Accept', '*/*', 'AUTHORIZATION', 'Bearer two', 'authorizatio', 'x'])
    expect(headerLines(r, 'authorization')).toEqual(['Bearer one', 'Bearer two'])
    expect(headerLineCount(r, 'authorization')).toBe(2)
  })

  it('when a header is absent, then there are no lines', () => {
    const r = req(['Host', 'a', 'X-On-Behalf-Of', 'alice'])
    expect(headerLines(r, 'authorization')).toEqual([])
    expect(headerLineCount(r, 'authorization')).toBe(0)
    expect(headerLineCount(r, 'x-on-behalf-of')).toBe(1)
  })
})
