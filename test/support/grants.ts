import { Redis } from 'ioredis'
import { createKeyRing } from '../../src/session/keyring.js'
import { unsignSessionCookie } from '../../src/session/http-session.js'
import type { Grant } from '../../src/session/grant-store.js'
import type { LoginTransaction } from '../../src/session/login-transactions.js'
import type { Browser } from './browser.js'
import type { TestBroker } from './start-app.js'

/** Reads (and decrypts) what the broker stored for a browser's session: test-only access to the real records. */
export async function readSessionGrant(broker: TestBroker, browser: Browser): Promise<{ sessionId: string; grant?: Grant; session?: Record<string, unknown> }> {
  const cookie = browser.cookie(broker.origin, broker.config.session.cookieName)
  if (!cookie) throw new Error('no session cookie')
  const sessionId = unsignSessionCookie(cookie, broker.config.session.secrets)!
  const redis = new Redis(broker.redisUrl)
  try {
    const raw = await redis.get(`${broker.prefix}sess:${sessionId}`)
    const session = raw ? (JSON.parse(raw) as Record<string, unknown>) : undefined
    const grantId = (session?.broker as { grantId?: string } | undefined)?.grantId
    const sealed = grantId ? await redis.get(`${broker.prefix}grant:${grantId}`) : null
    const ring = createKeyRing(broker.config.tokens.encryptionKeys)
    const grant = sealed && grantId ? (JSON.parse(ring.open(sealed, `grant:${grantId}`)) as Grant) : undefined
    return { sessionId, grant, session }
  } finally {
    redis.disconnect()
  }
}

/** The pending login transaction of a state (holds the PKCE code verifier). */
export async function readLoginTransaction(broker: TestBroker, state: string): Promise<LoginTransaction | undefined> {
  const redis = new Redis(broker.redisUrl)
  try {
    const sealed = await redis.get(`${broker.prefix}login:${state}`)
    if (!sealed) return undefined
    return JSON.parse(createKeyRing(broker.config.tokens.encryptionKeys).open(sealed, `login:${state}`)) as LoginTransaction
  } finally {
    redis.disconnect()
  }
}
