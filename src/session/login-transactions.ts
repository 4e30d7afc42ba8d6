import { createHash } from 'node:crypto'
import type { KeyRing } from './keyring.js'
import type { KeyValueStore } from './store.js'
import { redisKeys } from './keys.js'

/**
 * One login attempt: what the callback needs to finish it. It travels sealed (AES-256-GCM under the token key
 * ring, bound to its `state` as associated data) in a short-lived cookie of the browser that started it, so a
 * login that never comes back costs the broker nothing, however many are started (invariant 14). Opening it
 * proves the callback comes from that browser (invariant 4); single use is a consumed-state marker in the store.
 */
export interface LoginTransaction {
  codeVerifier: string
  nonce?: string
  returnTo: string
  /** epoch ms */
  createdAt: number
  /** GET /bff/login?offline=1: the grant is kept as the user's offline grant (background jobs may act for them) */
  offline?: boolean
  /** a mobile app's login (GET /bff/mobile/authorize): the callback hands a one-time code to the app instead */
  mobile?: MobileLogin
}

/** What a mobile app sent to /bff/mobile/authorize, checked there, and bound to the handoff code at the callback. */
export interface MobileLogin {
  clientId: string
  redirectUri: string
  /** the app's own state, returned to it unchanged */
  state?: string
  /** S256 challenge of the app's verifier (RFC 7636) */
  codeChallenge: string
  /** RFC 9449 §10: the thumbprint of the app's DPoP key, for DPoP apps */
  dpopJkt?: string
}

export const LOGIN_TRANSACTION_TTL_MS = 10 * 60_000

// instances whose clocks differ a little must still agree that a marker outlives the transaction it guards
const clockSlackMs = 60_000

export interface LoginTransactions {
  seal(state: string, tx: LoginTransaction): string
  /** undefined when the value is forged, belongs to another state or has expired */
  open(state: string, sealed: string): LoginTransaction | undefined
  /**
   * Records `state` as used, on every instance sharing the store (SET NX, until the transaction would have
   * expired anyway); false when it was used already.
   */
  consume(state: string, tx: LoginTransaction): Promise<boolean>
}

export function createLoginTransactions(deps: {
  store: KeyValueStore
  keyRing: KeyRing
  prefix: string
  now: () => number
}): LoginTransactions {
  const aad = (state: string) => `login:${state}`
  const key = redisKeys(deps.prefix).loginTransaction
  return {
    seal(state, tx) {
      return deps.keyRing.seal(JSON.stringify(tx), aad(state))
    },
    open(state, sealed) {
      let tx: LoginTransaction
      try {
        tx = JSON.parse(deps.keyRing.open(sealed, aad(state))) as LoginTransaction
      } catch {
        return undefined
      }
      const age = deps.now() - tx.createdAt
      return age <= LOGIN_TRANSACTION_TTL_MS && age >= -clockSlackMs ? tx : undefined
    },
    async consume(state, tx) {
      // the state's hash, not the state: the key names a used value without repeating it
      const key = redisKeys(deps.prefix).loginUsed(createHash('sha256').update(state).digest('base64url'))
      const ttlMs = Math.max(1000, tx.createdAt + LOGIN_TRANSACTION_TTL_MS + clockSlackMs - deps.now())
      return deps.store.setIfAbsent(key, '1', ttlMs)
    },
  }
}
