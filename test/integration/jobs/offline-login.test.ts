import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readSessionGrant } from '../../support/grants.js'
import { freePort } from '../../support/redis.js'
import { TEST_CLIENT_ID, TEST_CLIENT_SECRET, TEST_SCOPES } from '../../support/oidc-provider.js'
import { startBrokerWithUpstream, type TestBroker } from '../../support/start-app.js'
import { asJob, browserLogin, jobToken, listSessions, logLines, offlineConfig, userStatus } from './offline.js'

// A provider that issues no refresh token to the broker (its client lacks the refresh_token grant): an offline login
// still logs the user in, keeps no offline grant and says so in one warning line.

let broker: TestBroker
let stop: () => Promise<void>
beforeAll(async () => {
  const port = await freePort()
  ;({ broker, stop } = await startBrokerWithUpstream((url) => ({
    name: 'jobs-offline-login',
    port,
    idp: {
      clients: [{
        client_id: TEST_CLIENT_ID,
        client_secret: TEST_CLIENT_SECRET,
        redirect_uris: [`http://127.0.0.1:${port}/bff/callback`],
        grant_types: ['authorization_code', 'client_credentials'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: TEST_SCOPES.join(' '),
      }],
    },
    config: offlineConfig(url),
  })))
})
afterAll(() => stop?.())

describe('an offline login without a refresh token', () => {
  it('when the provider issues no refresh token to an offline login, then the login succeeds, no offline grant is kept and one warning is logged', async () => {
    const before = logLines(broker).filter((l) => l.event === 'login.offline_grant_not_issued').length
    const browser = await browserLogin(broker, { offline: true })
    expect(await userStatus(broker, browser)).toBe(200)
    const { grant } = await readSessionGrant(broker, browser)
    expect(grant!.tokens.refreshToken).toBeUndefined()
    expect(grant!.offline).toBeUndefined()
    const listing = await listSessions(broker, browser)
    expect(listing.sessions).toHaveLength(1)
    expect(listing.grants).toEqual([])
    const warnings = logLines(broker).filter((l) => l.event === 'login.offline_grant_not_issued')
    expect(warnings.length - before).toBe(1)
    expect(warnings.at(-1)).toMatchObject({ level: 'warn' })
    const job = await asJob(broker, await jobToken(broker, 'nightly'), '/api/orders/1', { sub: 'alice' })
    expect(job.status).toBe(403)
    expect(await job.json()).toMatchObject({ error: 'no_offline_grant' })
  })
})
