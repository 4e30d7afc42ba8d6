import { Writable } from 'node:stream'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createLogger, isoTimeOncePerMs, redactSecrets, redactedCensor } from '../../../src/observability/logger.js'

function capture() {
  const lines: Array<Record<string, unknown>> = []
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>)
      cb()
    },
  })
  return { lines, logger: createLogger({ level: 'debug', destination }) }
}

const secret = 'eyJhbGciOiJSUzI1NiJ9.secret-value.sig'

describe('log redaction', () => {
  it('removes secret fields at every depth, whatever their case, and keeps the rest', () => {
    const { lines, logger } = capture()
    logger.info({
      access_token: secret,
      tokens: { refreshToken: secret, idToken: secret, expiresAt: 5 },
      req: { headers: { Authorization: `Bearer ${secret}`, cookie: `sid=${secret}`, 'x-request-id': 'r1' } },
      res: { headers: { 'set-cookie': [`sid=${secret}`] } },
      deep: { a: { b: { c: { client_secret: secret, password: secret, dpop: secret } } } },
      list: [{ accessToken: secret }, 'plain'],
      code: 'an-authorization-code',
      more: { token: secret, jobToken: secret, 'X-Access-Token': secret, client_assertion: secret },
    }, 'm')
    const line = JSON.stringify(lines[0])
    expect(line).not.toContain('secret-value')
    expect(line).not.toContain('an-authorization-code')
    expect(lines[0]).toMatchObject({
      access_token: redactedCensor,
      tokens: { refreshToken: redactedCensor, idToken: redactedCensor, expiresAt: 5 },
      req: { headers: { Authorization: redactedCensor, cookie: redactedCensor, 'x-request-id': 'r1' } },
      res: { headers: { 'set-cookie': redactedCensor } },
      list: [{ accessToken: redactedCensor }, 'plain'],
      code: redactedCensor,
    })
  })

  it('keeps a nested error code, and scrubs an error\'s own fields and a child logger\'s bindings', () => {
    const { lines, logger } = capture()
    const err = Object.assign(new Error('upstream failed'), { code: 'ECONNRESET', headers: { authorization: `Bearer ${secret}` } })
    logger.error({ err, provider: { code: 'invalid_grant' } }, 'x')
    logger.child({ cookie: secret, requestId: 'r2' }).info('y')
    logger.child({ a: 1 }).child({ authorization: secret }).info('w')
    expect(JSON.stringify(lines)).not.toContain('secret-value')
    expect(lines[0]).toMatchObject({ err: { code: 'ECONNRESET', message: 'upstream failed', headers: { authorization: redactedCensor } }, provider: { code: 'invalid_grant' } })
    expect(lines[1]).toMatchObject({ cookie: redactedCensor, requestId: 'r2' })
    expect(lines[2]).toMatchObject({ a: 1, authorization: redactedCensor })
  })

  it('copies only what it changes: an object without secrets is the same object, the caller\'s object is never altered', () => {
    const clean = { event: 'job.call', job: 'j', nested: { status: 200 } }
    expect(redactSecrets(clean)).toBe(clean)
    const dirty = { event: 'x', nested: { accessToken: secret }, other: { kept: true } }
    const out = redactSecrets(dirty)
    expect(out.nested).toEqual({ accessToken: redactedCensor })
    expect(out.other).toBe(dirty.other)
    expect(dirty.nested.accessToken).toBe(secret)
  })

  it('survives cycles, buffers and dates', () => {
    const { lines, logger } = capture()
    const cyclic: Record<string, unknown> = { name: 'c', refresh_token: secret }
    cyclic.self = cyclic
    logger.info({ cyclic, at: new Date(0), bytes: Buffer.from('ab') }, 'z')
    expect(JSON.stringify(lines[0])).not.toContain('secret-value')
    expect(lines[0]).toMatchObject({ at: '1970-01-01T00:00:00.000Z', cyclic: { name: 'c', refresh_token: redactedCensor } })
  })
})

describe('log timestamps', () => {
  afterEach(() => vi.useRealTimers())

  it('when lines are logged within one millisecond and then the next, then each carries the ISO time of its own millisecond', () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.parse('2026-12-01T10:00:00.123Z'))
    expect(isoTimeOncePerMs()).toBe(',"time":"2026-12-01T10:00:00.123Z"')
    expect(isoTimeOncePerMs()).toBe(',"time":"2026-12-01T10:00:00.123Z"')
    vi.setSystemTime(Date.parse('2026-12-01T10:00:00.124Z'))
    expect(isoTimeOncePerMs()).toBe(',"time":"2026-12-01T10:00:00.124Z"')
    const { logger, lines } = capture()
    logger.info('x')
    expect(lines[0]?.time).toBe('2026-12-01T10:00:00.124Z')
  })
})
