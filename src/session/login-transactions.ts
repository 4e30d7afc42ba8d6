import type { KeyRing } from './keyring.js'
import type { KeyValueStore } from './store.js'
import { redisKeys } from './keys.js'

/**
 * One record per login attempt, keyed by `state` (so two tabs logging in at once do not overwrite each other).
 * It is bound to the browser that started it through the hash of the Lax login-binding cookie, and read with GETDEL,
 * so a state is single-use. Sealed: it holds the PKCE code verifier.
 */
export interface LoginTransaction {
  bindingHash: string
  codeVerifier: string
  nonce?: string
  returnTo: string
  /** epoch ms */
  createdAt: number
}

export const LOGIN_TRANSACTION_TTL_MS = 10 * 60_000

export interface LoginTransactions {
  begin(state: string, tx: LoginTransaction): Promise<void>
  /** reads without consuming (to check the browser binding before a stranger's request can burn the state) */
  peek(state: string): Promise<LoginTransaction | undefined>
  take(state: string): Promise<LoginTransaction | undefined>
}

export function createLoginTransactions(deps: {
  store: KeyValueStore
  keyRing: KeyRing
  prefix: string
}): LoginTransactions {
  const key = redisKeys(deps.prefix).loginTransaction
  return {
    async begin(state, tx) {
      await deps.store.set(key(state), deps.keyRing.seal(JSON.stringify(tx), `login:${state}`), LOGIN_TRANSACTION_TTL_MS)
    },
    async peek(state) {
      return open(state, await deps.store.get(key(state)))
    },
    async take(state) {
      return open(state, await deps.store.take(key(state)))
    },
  }
  function open(state: string, sealed: string | undefined): LoginTransaction | undefined {
      if (!sealed) return undefined
      try {
        return JSON.parse(deps.keyRing.open(sealed, `login:${state}`)) as LoginTransaction
      } catch {
        return undefined
      }
  }
}
