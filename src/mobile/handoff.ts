import { randomBytes } from 'node:crypto'
import type { KeyRing } from '../session/keyring.js'
import type { KeyValueStore } from '../session/store.js'
import { sha256b64url } from '../sha256.js'
import { redisKeys } from '../session/keys.js'

/** What a handoff code is bound to (RFC 6749 §4.1.3, RFC 7636 §4.6, RFC 9449 §10). */
export interface Handoff {
  sessionId: string
  /** the handle the code is redeemed for; sealed at rest, and only until the code is redeemed or expires */
  handle: string
  clientId: string
  redirectUri: string
  codeChallenge: string
  dpopJkt?: string
}

export type Redemption = { kind: 'ok'; handoff: Handoff } | { kind: 'used'; sessionId: string } | { kind: 'unknown' }

export interface HandoffCodes {
  /** a fresh one-time code (256 bits) for the app; Redis holds only its hash */
  issue(handoff: Handoff, ttlMs: number): Promise<string>
  /** single use, atomically: the first redemption gets the handoff, any later one learns which session it made */
  redeem(code: string): Promise<Redemption>
}

const codePattern = /^[A-Za-z0-9_-]{43}$/
const USED = 'used:'

export function createHandoffCodes(deps: { store: KeyValueStore; keyRing: KeyRing; prefix: string }): HandoffCodes {
  const idOf = (code: string) => sha256b64url(code)
  const key = redisKeys(deps.prefix).handoff
  return {
    async issue(handoff, ttlMs) {
      const code = randomBytes(32).toString('base64url')
      const id = idOf(code)
      await deps.store.set(key(id), deps.keyRing.seal(JSON.stringify(handoff), `handoff:${id}`), ttlMs)
      return code
    },
    async redeem(code) {
      // a malformed code costs no Redis call
      if (!codePattern.test(code)) return { kind: 'unknown' }
      const id = idOf(code)
      const stored = await deps.store.get(key(id))
      if (stored === undefined) return { kind: 'unknown' }
      if (stored.startsWith(USED)) return { kind: 'used', sessionId: stored.slice(USED.length) }
      let handoff: Handoff
      try {
        handoff = JSON.parse(deps.keyRing.open(stored, `handoff:${id}`)) as Handoff
      } catch {
        return { kind: 'unknown' }
      }
      // SET XX KEEPTTL GET: of two parallel redemptions exactly one swaps out the record, the other the marker,
      // which names the session so that a second use can end it (RFC 6749 §4.1.2)
      const previous = await deps.store.swap(key(id), USED + handoff.sessionId)
      if (previous?.startsWith(USED)) return { kind: 'used', sessionId: handoff.sessionId }
      if (previous !== stored) return { kind: 'unknown' }
      return { kind: 'ok', handoff }
    },
  }
}
