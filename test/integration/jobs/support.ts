import { randomBytes } from 'node:crypto'
import { expect } from 'vitest'
import { secretHashOf } from '../../../src/jobs/job-clients.js'

/** Job clients of these tests and their secrets, made as `npm run job:secret` makes them; one client per test. */
export const secrets: Record<string, string> = Object.fromEntries(
  ['report', 'wrong', 'limited', 'address', 'multi', 'window', 'grant'].map((id) => [id, randomBytes(32).toString('base64url')]),
)

/** Broker config keys for job tests: no identity provider is contacted, one API, small failure limits. */
export function jobsConfig(limits: Record<string, number> = {}): Record<string, unknown> {
  return {
    trustProxy: true,
    provider: { authorizationEndpoint: 'http://127.0.0.1:9/authorize', tokenEndpoint: 'http://127.0.0.1:9/token', scopes: ['openid'], authorizationParams: {} },
    apis: [{ path: '/api/orders', target: 'http://127.0.0.1:9' }],
    jobs: {
      authFailureLimits: { perClientId: 3, perAddress: 5, windowSeconds: 3600, ...limits },
      clients: Object.entries(secrets).map(([id, secret]) => ({ id, secretHash: secretHashOf(secret), apis: ['/api/orders'] })),
    },
  }
}

/** RFC 6749 §2.3.1: id and secret form-urlencoded, then Basic (RFC 7617). */
export const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`

export interface TokenRequest { auth?: string; body?: string; ip?: string; contentType?: string }

export async function requestToken(origin: string, opts: TokenRequest) {
  const res = await fetch(`${origin}/bff/jobs/token`, {
    method: 'POST',
    headers: {
      'content-type': opts.contentType ?? 'application/x-www-form-urlencoded',
      'x-forwarded-for': opts.ip ?? '192.0.2.1',
      ...(opts.auth === undefined ? {} : { authorization: opts.auth }),
    },
    body: opts.body ?? 'grant_type=client_credentials',
  })
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> }
}

export function expectInvalidClient(res: Awaited<ReturnType<typeof requestToken>>) {
  expect(res.status).toBe(401)
  expect(res.body).toEqual({ error: 'invalid_client', error_description: 'Client authentication failed.', message: 'Client authentication failed.' })
  expect(res.headers.get('www-authenticate')).toBe('Basic realm="bff-jobs"')
  expect(res.headers.get('cache-control')).toBe('no-store')
}

/** A job token for a client whose id and secret are right (200 expected). */
export async function issueJobToken(origin: string, id: string, secret: string): Promise<string> {
  const { status, body } = await requestToken(origin, { auth: basic(id, secret) })
  expect(status).toBe(200)
  return String(body.access_token)
}
