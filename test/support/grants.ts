import { Redis } from 'ioredis'
import { createKeyRing } from '../../src/session/keyring.js'
import { redisKeys } from '../../src/session/keys.js'
import { unsignSessionCookie } from '../../src/session/http-session.js'
import type { Grant } from '../../src/session/grant-store.js'
import type { LoginTransaction } from '../../src/session/login-transactions.js'
import { loginCookieName } from '../../src/http/login-cookies.js'
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
    const sealed = grantId ? await redis.get(redisKeys(broker.prefix).grant(grantId)) : null
    const ring = createKeyRing(broker.config.tokens.encryptionKeys)
    const grant = sealed && grantId ? (JSON.parse(ring.open(sealed, `grant:${grantId}`)) as Grant) : undefined
    return { sessionId, grant, session }
  } finally {
    redis.disconnect()
  }
}

/** The pending login transaction of a state, opened from the browser's login cookie (holds the PKCE code verifier). */
export function readLoginTransaction(broker: TestBroker, browser: Browser, state: string): LoginTransaction | undefined {
  const base = broker.config.session.loginCookieName
  const value = browser.cookie(broker.origin, loginCookieName(base, state))
  if (!value) return undefined
  const sealed = value.slice(value.indexOf('.') + 1)
  return JSON.parse(createKeyRing(broker.config.tokens.encryptionKeys).open(sealed, `login:${state}`)) as LoginTransaction
}
