import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHash } from 'node:crypto'
import { Redis } from 'ioredis'
import { keysWithPrefix } from '../../support/redis.js'
import { startTestBroker, type TestBroker } from '../../support/start-app.js'
import { createOffsetClock } from '../../support/clock.js'
import { secretHashOf } from '../../../src/jobs/job-clients.js'
import { basic, expectInvalidClient, jobsConfig, requestToken, secrets, type TokenRequest } from './support.js'

let broker: TestBroker
let off: TestBroker
/** every token the tests were given, for the log and Redis checks at the end */
const issued: string[] = []

// an operator's own secret, with every character RFC 6749 §2.3.1 form-urlencodes before the Basic encoding
const oddSecret = 'se:cr+et %25 ü/=&x'
beforeAll(async () => {
  const config = jobsConfig() as { jobs: { clients: unknown[] } }
  config.jobs.clients.push({ id: 'odd.id_x-1', secretHash: secretHashOf(oddSecret), apis: [] })
  broker = await startTestBroker({ name: 'job-token', config })
  const { jobs: _none, ...withoutJobs } = jobsConfig()
  off = await startTestBroker({ name: 'job-token-off', config: withoutJobs })
})
afterAll(async () => {
  await Promise.all([broker.stop(), off.stop()])
})

let ipCounter = 0
const newIp = () => `198.51.100.${++ipCounter}`
const post = (opts: TokenRequest, target = broker) => requestToken(target.origin, { ip: newIp(), ...opts })
const right = (id: string) => basic(id, secrets[id] ?? '')
const hashOf = (token: string) => createHash('sha256').update(token).digest('base64url')
const logLines = (b: TestBroker, from = 0) => b.logs.slice(from).map((line) => JSON.parse(line) as Record<string, unknown>)

describe('POST /bff/jobs/token', () => {
  it('when a job sends its id and secret with grant_type=client_credentials (no CSRF header), then 200 with an uncacheable Bearer job token', async () => {
    const ip = newIp()
    const from = broker.logs.length
    const res = await post({ auth: right('report'), ip })
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    expect(res.body).toEqual({ access_token: expect.stringMatching(/^bffj_[A-Za-z0-9_-]{43}$/), token_type: 'Bearer', expires_in: 300 })
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(res.headers.get('pragma')).toBe('no-cache')
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    issued.push(String(res.body.access_token))
    expect(logLines(broker, from).filter((l) => l.event === 'job.token_issued')).toEqual([
      expect.objectContaining({ clientId: 'report', address: ip, expiresIn: 300 }),
    ])
  })

  it('when a token is issued, then Redis holds only its SHA-256 as a key, naming the client, with the token TTL', async () => {
    const res = await post({ auth: right('report') })
    const token = String(res.body.access_token)
    issued.push(token)
    const key = `${broker.prefix}job:${hashOf(token)}`
    const entry = (await keysWithPrefix(broker.redisUrl, broker.prefix)).find((k) => k.key === key)
    expect(entry?.ttlMs).toBeGreaterThan(290_000)
    expect(entry?.ttlMs).toBeLessThanOrEqual(300_000)
    const redis = new Redis(broker.redisUrl)
    try {
      expect(JSON.parse((await redis.get(key)) ?? '')).toEqual({ clientId: 'report', issuedAt: expect.any(Number) })
    } finally {
      redis.disconnect()
    }
  })

  it('when a second token is asked for, then it differs from the first (each is fresh)', async () => {
    const a = await post({ auth: right('report') })
    const b = await post({ auth: right('report') })
    issued.push(String(a.body.access_token), String(b.body.access_token))
    expect(a.body.access_token).not.toBe(b.body.access_token)
  })

  it('when the secret is wrong, then 401 invalid_client with WWW-Authenticate Basic, no token, and one audit line without the secret', async () => {
    const ip = newIp()
    const from = broker.logs.length
    expectInvalidClient(await post({ auth: basic('wrong', 'not-the-secret-0123456789'), ip }))
    expect(logLines(broker, from).filter((l) => l.event === 'job.auth_failed')).toEqual([
      expect.objectContaining({ clientId: 'wrong', address: ip, reason: 'wrong_secret' }),
    ])
    expect(broker.logs.slice(from).join('\n')).not.toContain('not-the-secret-0123456789')
  })

  it('when the client id is unknown, then the same 401 invalid_client, and the log names it only by hash', async () => {
    const from = broker.logs.length
    // a job that swapped id and secret: its secret must not reach the log as "the id"
    expectInvalidClient(await post({ auth: basic(secrets.report ?? '', 'report') }))
    const line = logLines(broker, from).find((l) => l.event === 'job.auth_failed')
    expect(line).toMatchObject({ reason: 'unknown_client', clientIdHash: expect.any(String) })
    expect(line).not.toHaveProperty('clientId')
    expect(broker.logs.slice(from).join('\n')).not.toContain(secrets.report)
  })

  it.each([
    ['no Authorization header', undefined],
    ['a Bearer header', `Bearer ${'a'.repeat(43)}`],
    ['Basic without a colon', `Basic ${Buffer.from('report').toString('base64')}`],
    ['Basic with broken base64', 'Basic cmVwb3J0Onh4eA=!'],
    ['Basic with an empty id', `Basic ${Buffer.from(':secret').toString('base64')}`],
  ])('when the request has %s, then 401 invalid_client', async (_what, auth) => {
    expectInvalidClient(await post({ auth }))
  })

  it('when the id and a secret holding : + % space and non-ASCII are form-urlencoded in Basic (RFC 6749 §2.3.1), then 200; sent unencoded, 401', async () => {
    const encoded = await post({ auth: basic('odd.id_x-1', oddSecret) })
    expect(encoded.status, JSON.stringify(encoded.body)).toBe(200)
    issued.push(String(encoded.body.access_token))
    // unencoded, `+` reads as a space and `%25` as `%`: another secret
    expectInvalidClient(await post({ auth: `Basic ${Buffer.from(`odd.id_x-1:${oddSecret}`).toString('base64')}` }))
  })

  it.each([
    ['client_secret in the body too', (s: string) => `grant_type=client_credentials&client_id=grant&client_secret=${s}`],
    ['the same client_secret twice in the body', (s: string) => `grant_type=client_credentials&client_secret=${s}&client_secret=${s}`],
    ['another client_id in the body', () => 'grant_type=client_credentials&client_id=report'],
  ])('when Basic credentials come with %s, then 400 invalid_request (one authentication method, RFC 6749 §2.3) and no token', async (_what, body) => {
    const res = await post({ auth: right('grant'), body: body(secrets.grant ?? '') })
    expect(res.status).toBe(400)
    expect(res.body).toEqual({ error: 'invalid_request', error_description: expect.any(String), message: res.body.error_description })
    const same = await post({ auth: right('grant'), body: 'grant_type=client_credentials&client_id=grant' })
    expect(same.status).toBe(200)
    issued.push(String(same.body.access_token))
  })

  it('when the id and secret come only in the body (client_secret_post), then 401 invalid_client: this endpoint takes HTTP Basic', async () => {
    expectInvalidClient(await post({ body: `grant_type=client_credentials&client_id=grant&client_secret=${secrets.grant}` }))
  })

  it.each([
    ['grant_type=password', 400, 'unsupported_grant_type', 'grant_type=password&username=a&password=b'],
    ['grant_type=authorization_code', 400, 'unsupported_grant_type', 'grant_type=authorization_code&code=x'],
    ['no grant_type', 400, 'invalid_request', 'scope=x'],
    ['grant_type twice', 400, 'invalid_request', 'grant_type=client_credentials&grant_type=client_credentials'],
  ])('when the body has %s, then %d %s in the OAuth error shape and no token', async (_what, status, error, body) => {
    const res = await post({ auth: right('grant'), body })
    expect(res.status).toBe(status)
    expect(res.body).toEqual({ error, error_description: expect.any(String), message: res.body.error_description })
    expect(res.body).not.toHaveProperty('access_token')
  })

  it('when the body is JSON or too large, then 4xx invalid_request in the OAuth shape', async () => {
    const json = await post({ auth: right('grant'), contentType: 'application/json', body: '{"grant_type":"client_credentials"}' })
    expect(json.status).toBe(400)
    expect(json.body.error).toBe('invalid_request')
    const large = await post({ auth: right('grant'), body: `grant_type=client_credentials&pad=${'x'.repeat(5000)}` })
    expect(large.status).toBe(413)
    expect(large.body).toEqual({ error: 'invalid_request', error_description: 'The request body is too large.', message: 'The request body is too large.' })
  })

  it('when no job client is configured, then the route does not exist (404 JSON)', async () => {
    const res = await post({ auth: right('report') }, off)
    expect(res.status).toBe(404)
    expect(res.body.error).toBe('not_found')
  })
})

describe('what the job token endpoint leaves behind', () => {
  it('when all the above has run, then no secret and no token appears in any log line or Redis key or value', async () => {
    expect(issued.length).toBeGreaterThan(3)
    const logs = broker.logs.join('\n')
    const keys = await keysWithPrefix(broker.redisUrl, broker.prefix)
    const redis = new Redis(broker.redisUrl)
    const values = await Promise.all(keys.map((k) => redis.get(k.key)))
    redis.disconnect()
    const dump = `${keys.map((k) => k.key).join('\n')}\n${values.join('\n')}`
    expect(keys.filter((k) => k.key.startsWith(`${broker.prefix}job:`)).length).toBeGreaterThan(3)
    for (const value of [...issued, ...issued.map((t) => t.slice(5)), ...Object.values(secrets)]) {
      expect(logs).not.toContain(value)
      expect(dump).not.toContain(value)
    }
    expect(keys.every((k) => k.ttlMs > 0)).toBe(true)
  })
})

describe('a job token at its expiry', () => {
  it('when the token has expired (its Redis key gone with its TTL), then the instance that used it before refuses it too: 401', async () => {
    const clock = createOffsetClock()
    const timed = await startTestBroker({ name: 'job-token-expiry', config: jobsConfig(), clock })
    try {
      const { body } = await requestToken(timed.origin, { auth: right('report'), ip: newIp() })
      const token = String(body.access_token)
      const call = () => fetch(`${timed.origin}/api/orders`, { headers: { authorization: `Bearer ${token}` } })
      // authenticated: the user route then wants X-On-Behalf-Of (400), which it checks only for a valid job
      expect((await call()).status).toBe(400)
      expect((await call()).status).toBe(400)
      const redis = new Redis(timed.redisUrl)
      await redis.del(`${timed.prefix}job:${hashOf(token)}`)
      redis.disconnect()
      clock.advance(300_000)
      const res = await call()
      expect(res.status).toBe(401)
      expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"')
    } finally {
      await timed.stop()
    }
  })
})
