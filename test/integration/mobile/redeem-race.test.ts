import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSessionLifecycle, type SessionLifecycle } from '../../../src/http/session-lifecycle.js'
import type { OAuthProvider } from '../../../src/oauth/provider.js'
import { createLogger } from '../../../src/observability/logger.js'
import { createGrantStore, type GrantStore } from '../../../src/session/grant-store.js'
import { createHttpSession, type HttpSession } from '../../../src/session/http-session.js'
import { createKeyRing } from '../../../src/session/keyring.js'
import { createRedisStore } from '../../../src/session/redis-store.js'
import { createOfflineGrants } from '../../../src/session/offline-grants.js'
import { createSessionIndex } from '../../../src/session/session-index.js'
import { DPOP_APP, mobileConfig } from '../../support/mobile.js'
import { redisUrl, uniquePrefix } from '../../support/redis.js'
import { testConfig } from '../../support/start-app.js'
import { redisKeys } from '../../../src/session/keys.js'

// Two parallel redemptions of one handoff code: the second ends the session the code made (RFC 6749 §4.1.2) while
// the first may be between reading that session and writing it back as redeemed. Whatever the order, what the
// second ended must stay ended: the first redemption's writes are conditional. The interleaving is forced here by a
// decorator of our grant-store port that runs the second use right after the first one's read.

let redis: Redis
let httpSession: HttpSession
let grants: GrantStore
let lifecycle: SessionLifecycle
let interleave: (() => Promise<void>) | undefined
const prefix = uniquePrefix('mobile-redeem-race')
const config = testConfig({ name: 'mobile-redeem-race', port: 3000, issuer: 'http://127.0.0.1:9', redisUrl: 'redis://unused', config: { mobile: mobileConfig() } })

beforeAll(() => {
  redis = new Redis(redisUrl())
  const store = createRedisStore(redis)
  const real = createGrantStore({ store, keyRing: createKeyRing(config.tokens.encryptionKeys), prefix })
  grants = {
    ...real,
    async get(id) {
      const grant = await real.get(id)
      const run = interleave
      interleave = undefined
      await run?.()
      return grant
    },
  }
  httpSession = createHttpSession({ config: config.session, mobile: config.mobile, redis, prefix })
  // our provider port: this test never reaches the provider (no userinfo, no revocation; fetchUserinfo off)
  const provider = { hasRevocation: () => false } as unknown as OAuthProvider
  lifecycle = createSessionLifecycle({
    provider, grants, httpSession,
    index: createSessionIndex({ store, prefix }),
    watch: { ended: () => undefined },
    logger: createLogger({ level: 'silent' }),
    subjectClaim: 'sub',
    fetchUserinfo: false,
    timeouts: { browser: config.session, mobile: config.mobile },
    offlineGrants: createOfflineGrants({ store, prefix, idleMs: 60_000, now: Date.now, grantKey: grants.key }),
    offlineGrantIdleMs: 60_000,
    now: Date.now,
  })
})
afterAll(() => redis.quit())

async function pendingMobileSession() {
  const tokens = { accessToken: 'at', tokenType: 'Bearer', idTokenClaims: { sub: 'alice' } }
  const { sessionId } = await lifecycle.startMobile(tokens, { clientId: DPOP_APP, dpopJkt: 'j'.repeat(43) }, Date.now() + 60_000)
  const session = (await httpSession.load(sessionId))!
  return { sessionId, session, grantKey: redisKeys(prefix).grant(session.grantId), sessionKey: `${prefix}sess:${sessionId}` }
}

describe('a redemption racing a second use of its code', () => {
  it('when the second use ends the session between the first redemption\'s read and its writes, then nothing is written back', async () => {
    const { sessionId, session, grantKey, sessionKey } = await pendingMobileSession()
    interleave = async () => void (await lifecycle.end(sessionId, session, { revoke: false, reason: 'handoff_refused' }))
    await lifecycle.redeemed(sessionId, session)
    expect(await redis.exists(sessionKey)).toBe(0)
    expect(await redis.exists(grantKey)).toBe(0)
    expect(await httpSession.load(sessionId)).toBeUndefined()
  })

  it('when nothing interferes, then the session is redeemed and lives by the mobile timeouts, its grant by the absolute one', async () => {
    const { sessionId, session, grantKey, sessionKey } = await pendingMobileSession()
    const active = await lifecycle.redeemed(sessionId, session)
    expect(active.handoffUntil).toBeUndefined()
    expect((await httpSession.load(sessionId))?.handoffUntil).toBeUndefined()
    expect(await redis.pttl(sessionKey)).toBeGreaterThan((config.mobile.idleTimeoutSeconds - 5) * 1000)
    expect(await redis.pttl(sessionKey)).toBeLessThanOrEqual(config.mobile.idleTimeoutSeconds * 1000)
    expect(await redis.pttl(grantKey)).toBeGreaterThan((config.mobile.absoluteTimeoutSeconds - 60) * 1000)
  })
})
