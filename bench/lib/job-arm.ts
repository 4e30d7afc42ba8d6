import { randomBytes } from 'node:crypto'
import { secretHashOf } from '../../src/jobs/job-clients.js'
import { completeProviderLogin, createBrowser } from '../../test/support/browser.js'

// Arm F of bench/proxy-overhead.ts: a background job on a `token: user` route, on a user's behalf. Seeded as arm D
// is: one real login through the provider's pages, here with offline=1 so the grant becomes the user's offline
// grant; then one job token from POST /bff/jobs/token. Every F request carries that token and X-On-Behalf-Of.

export const BENCH_JOB_ID = 'bench-job'

/** a fresh secret for the bench's job client and the `jobs` config keys that register it (only its hash) */
export function benchJob(): { secret: string; jobs: Record<string, unknown> } {
  const secret = randomBytes(32).toString('base64url')
  return {
    secret,
    // a job token outlives the longest bench run (the maximum TTL); the client may call the bench's one route
    jobs: { tokenTtlSeconds: 3600, clients: [{ id: BENCH_JOB_ID, secretHash: secretHashOf(secret), apis: ['/api'], onBehalfOf: true }] },
  }
}

/** offline login of `user`, then a job token: the headers of every F request */
export async function seedJobArm(brokerOrigin: string, secret: string, user: 'alice' | 'bob' = 'alice'): Promise<Record<string, string>> {
  const browser = createBrowser()
  try {
    const start = await browser.get(`${brokerOrigin}/bff/login?offline=1&returnTo=/`)
    if (start.status !== 302 || !start.location) throw new Error(`offline login did not redirect: ${start.status}`)
    const callback = await completeProviderLogin(browser, start.location, { login: user, password: user })
    const done = await browser.get(callback, { site: 'cross-site' })
    if (done.status !== 302) throw new Error(`offline login callback answered ${done.status}`)
  } finally {
    await browser.close()
  }
  const res = await fetch(`${brokerOrigin}/bff/jobs/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${BENCH_JOB_ID}:${secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  })
  const body = (await res.json()) as { access_token?: string }
  if (res.status !== 200 || !body.access_token) throw new Error(`job token request answered ${res.status}`)
  return { authorization: `Bearer ${body.access_token}`, 'x-on-behalf-of': user, accept: 'application/json' }
}
