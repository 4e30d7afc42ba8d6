import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestBroker, type TestBroker } from '../../support/start-app.js'
import { createOffsetClock, createTestClock } from '../../support/clock.js'
import { basic, expectInvalidClient, jobsConfig, requestToken, secrets, type TokenRequest } from './support.js'

// both instances' clock: a test that would start near a window edge moves it instead of waiting
const clock = createOffsetClock()
let broker: TestBroker
/** a second instance on the same Redis and key prefix */
let second: TestBroker
/** every token the tests were given, for the log check */
const issued: string[] = []

beforeAll(async () => {
  broker = await startTestBroker({ name: 'job-limits', clock, config: jobsConfig() })
  second = await startTestBroker({
    name: 'job-limits-second',
    clock,
    config: { ...jobsConfig(), redis: { url: broker.redisUrl, keyPrefix: broker.prefix } },
  })
})
afterAll(async () => {
  await Promise.all([broker.stop(), second.stop()])
})

let ipCounter = 0
const newIp = () => `203.0.113.${++ipCounter}`
const post = (opts: TokenRequest, target = broker) => requestToken(target.origin, { ip: newIp(), ...opts })
const right = (id: string) => basic(id, secrets[id] ?? '')
const logLines = (b: TestBroker, from = 0) => b.logs.slice(from).map((line) => JSON.parse(line) as Record<string, unknown>)

/** Counting windows are aligned on the clock (here one hour): start a rate-limit test well inside one. */
function awayFromWindowEdge() {
  const left = 3_600_000 - (clock.now() % 3_600_000)
  if (left < 15_000) clock.advance(left + 100)
}

describe('POST /bff/jobs/token failure limits', () => {
  it('when a client id has failed perClientId times, then even its right secret gets 429 with Retry-After, from any address', async () => {
    awayFromWindowEdge()
    for (let i = 0; i < 3; i++) expectInvalidClient(await post({ auth: basic('limited', `guess-${i}`) }))
    const from = broker.logs.length
    const res = await post({ auth: right('limited') })
    expect(res.status).toBe(429)
    expect(res.body).toEqual({ error: 'too_many_requests', error_description: expect.any(String), message: res.body.error_description })
    const retryAfter = Number(res.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThan(0)
    expect(retryAfter).toBeLessThanOrEqual(3600)
    expect(logLines(broker, from).filter((l) => l.event === 'job.auth_failed')).toEqual([
      expect.objectContaining({ clientId: 'limited', reason: 'rate_limited' }),
    ])
    // another client is not affected by this one's failures
    const other = await post({ auth: right('report') })
    expect(other.status).toBe(200)
    issued.push(String(other.body.access_token))
  })

  it('when one address has failed perAddress times with any ids, then a right secret from it gets 429, and other addresses are served', async () => {
    awayFromWindowEdge()
    const ip = newIp()
    for (let i = 0; i < 5; i++) expectInvalidClient(await post({ auth: basic(`nobody-${i}`, 'x'), ip }))
    const res = await post({ auth: right('address'), ip })
    expect(res.status).toBe(429)
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/)
    const elsewhere = await post({ auth: right('address') })
    expect(elsewhere.status).toBe(200)
    issued.push(String(elsewhere.body.access_token))
  })

  it('when the failures are spread over two instances sharing Redis, then the limit holds on both', async () => {
    awayFromWindowEdge()
    expectInvalidClient(await post({ auth: basic('multi', 'guess-a') }, broker))
    expectInvalidClient(await post({ auth: basic('multi', 'guess-b') }, second))
    expectInvalidClient(await post({ auth: basic('multi', 'guess-c') }, broker))
    for (const target of [second, broker]) {
      const res = await post({ auth: right('multi') }, target)
      expect(res.status).toBe(429)
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0)
    }
  })

  it('when the window has passed, then the right secret is served again', async () => {
    const clock = createTestClock()
    const app = await startTestBroker({ name: 'job-token-window', clock, config: jobsConfig({ windowSeconds: 60 }) })
    try {
      clock.advance(60_000 - (clock.now() % 60_000)) // the start of a window
      for (let i = 0; i < 3; i++) expectInvalidClient(await requestToken(app.origin, { auth: basic('window', `guess-${i}`) }))
      const limited = await requestToken(app.origin, { auth: right('window') })
      expect(limited.status).toBe(429)
      expect(limited.headers.get('retry-after')).toBe('60')
      clock.advance(60_000)
      const served = await requestToken(app.origin, { auth: right('window') })
      expect(served.status).toBe(200)
      issued.push(String(served.body.access_token))
      for (const token of issued) expect(app.logs.join('\n')).not.toContain(token)
    } finally {
      await app.stop()
    }
  })
})

describe('what the failure limits leave behind', () => {
  it('when the limit tests have run, then no secret and no token appears in the log lines of either instance', () => {
    expect(issued.length).toBeGreaterThan(1)
    const logs = [...broker.logs, ...second.logs].join('\n')
    for (const value of [...issued, ...Object.values(secrets)]) expect(logs).not.toContain(value)
  })
})
