import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { benchJob, seedJobArm } from '../../../bench/lib/job-arm.js'
import { startBrokerWithUpstream, type TestBroker } from '../../support/start-app.js'
import type { Upstream } from '../../support/upstream.js'

// Arm F of npm run bench, seeded against a test broker configured as the bench's broker child is: an offline login,
// one job token, then job calls on the user's behalf.
const job = benchJob()
let broker: TestBroker
let upstream: Upstream
let stop: () => Promise<void>
beforeAll(async () => {
  ;({ broker, upstream, stop } = await startBrokerWithUpstream((url) => ({
    name: 'bench-job-arm',
    config: { apis: [{ path: '/api', target: `${url}/echo`, token: 'user' }], jobs: job.jobs },
  })))
})
afterAll(() => stop())

describe('the job arm of the proxy-overhead benchmark', () => {
  it('when the arm is seeded, then its headers make job calls on the user\'s behalf that reach the upstream with a user token', async () => {
    const headers = await seedJobArm(broker.origin, job.secret)
    expect(headers['x-on-behalf-of']).toBe('alice')
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${broker.origin}/api/small`, { headers })
      expect(res.status).toBe(200)
    }
    expect(upstream.requests.at(-1)!.headers.authorization).toMatch(/^Bearer \S+$/)
    const calls = broker.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.event === 'job.call')
    expect(calls.at(-1)).toMatchObject({ job: 'bench-job', sub: 'alice', route: '/api', status: 200 })
  })
})
