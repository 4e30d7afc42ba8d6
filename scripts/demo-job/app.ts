import { DEMO_API_PATH } from '../../src/demo/stack.js'
import { DEMO_JOB_CLIENT_ID, DEMO_JOB_SUBJECT } from '../../src/demo/job.js'

// The core of `npm run demo:job`: the demo's background job, step by step against a running demo. It gets a job
// token (RFC 6749 §4.4, client credentials with HTTP Basic), then calls the demo API on alice's behalf. The CLI
// wires it to the terminal; the test to the in-process demo.

export interface JobDemoOptions {
  /** the broker's origin */
  brokerUrl: string
  /** the job client's secret (npm start prints it) */
  secret: string
  clientId?: string
  /** the user the job acts for (X-On-Behalf-Of) */
  sub?: string
  apiPath?: string
  /** one line per step */
  log: (line: string) => void
}

export interface JobDemoResult {
  /** the job token's first characters only: the token is a credential */
  tokenPrefix: string
  statuses: { token: number; onBehalf: number; withoutUser: number; user: number }
  /** the broker's error code of the on-behalf-of call, when it failed */
  onBehalfError?: string
}

export class JobDemoError extends Error {}

/** Enough of the token to recognise it, too little to use it. */
export const tokenPrefix = (token: string) => `${token.slice(0, 11)}…`

/** RFC 6749 §2.3.1: id and secret form-urlencoded, then HTTP Basic (RFC 7617). */
const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`

async function answer(res: Response): Promise<Record<string, unknown>> {
  const body = (await res.json().catch(() => ({}))) as unknown
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {}
}

async function jobToken(opts: JobDemoOptions, clientId: string): Promise<{ token: string; status: number }> {
  const res = await fetch(new URL('/bff/jobs/token', opts.brokerUrl), {
    method: 'POST',
    headers: { authorization: basic(clientId, opts.secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  })
  const body = await answer(res)
  if (res.status !== 200 || typeof body.access_token !== 'string') {
    throw new JobDemoError(`the broker refused the job's credentials (HTTP ${res.status} ${String(body.error ?? '')}): use the DEMO_JOB_SECRET this demo's npm start printed`)
  }
  opts.log(`1. POST /bff/jobs/token as ${clientId} (HTTP Basic) → ${res.status}: job token ${tokenPrefix(body.access_token)} (${String(body.token_type)}, expires in ${String(body.expires_in)} s)`)
  return { token: body.access_token, status: res.status }
}

export async function runJobDemo(opts: JobDemoOptions): Promise<JobDemoResult> {
  const clientId = opts.clientId ?? DEMO_JOB_CLIENT_ID
  const sub = opts.sub ?? DEMO_JOB_SUBJECT
  const path = `${opts.apiPath ?? DEMO_API_PATH}/orders`
  const { token, status } = await jobToken(opts, clientId)
  const call = (target: string, headers: Record<string, string> = {}) =>
    fetch(new URL(target, opts.brokerUrl), { headers: { authorization: `Bearer ${token}`, ...headers } })

  const onBehalf = await call(path, { 'x-on-behalf-of': sub })
  const body = await answer(onBehalf)
  const error = typeof body.error === 'string' ? body.error : undefined
  if (onBehalf.status === 200) {
    opts.log(`2. GET ${path} with X-On-Behalf-Of: ${sub} → 200 (the broker attached a token from ${sub}'s offline grant): ${String(body.message)}`)
  } else if (error === 'no_offline_grant') {
    opts.log(`2. GET ${path} with X-On-Behalf-Of: ${sub} → 403 no_offline_grant: ${sub} has not allowed background access yet. Open the demo page, log in as ${sub} with "allow background access", and run this again`)
  } else {
    opts.log(`2. GET ${path} with X-On-Behalf-Of: ${sub} → ${onBehalf.status} ${error ?? ''}`)
  }
  const withoutUser = await call(path)
  opts.log(`3. the same call without X-On-Behalf-Of → ${withoutUser.status} ${String((await answer(withoutUser)).error ?? '')} (a user route needs the user the job acts for)`)
  const user = await call('/bff/user')
  await user.body?.cancel()
  opts.log(`4. GET /bff/user with the job token → ${user.status} (a job is not a user session)`)
  return {
    tokenPrefix: tokenPrefix(token),
    statuses: { token: status, onBehalf: onBehalf.status, withoutUser: withoutUser.status, user: user.status },
    ...(error !== undefined && { onBehalfError: error }),
  }
}
