import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import type { OAuthProvider, TokenSet } from '../../../../src/oauth/provider.js'
import { createLogger } from '../../../../src/observability/logger.js'
import { createMetrics, type Metrics } from '../../../../src/observability/metrics.js'
import { createGrantStore, type Grant, type GrantStore } from '../../../../src/session/grant-store.js'
import { createKeyRing } from '../../../../src/session/keyring.js'
import { createRedisStore } from '../../../../src/session/redis-store.js'
import type { BrokerSession } from '../../../../src/session/session.js'
import type { KeyValueStore } from '../../../../src/session/store.js'
import type { Clock } from '../../../../src/tokens/clock.js'
import { createClientCredentials, type ClientCredentials } from '../../../../src/tokens/client-credentials.js'
import type { LockOptions } from '../../../../src/tokens/lock.js'
import { createTokenManager, type TokenManager } from '../../../../src/tokens/token-manager.js'

export const keyRing = createKeyRing(['a-test-token-encryption-key-of-32-chars!'])
export const grantTtlMs = 3_600_000

/** One broker "instance": its own ioredis client, store, grant store, metrics and token manager. */
export interface Instance {
  store: KeyValueStore
  grants: GrantStore
  manager: TokenManager
  clientCredentials: ClientCredentials
  metrics: Metrics
  close(): Promise<void>
}

export function startInstance(opts: {
  url: string
  prefix: string
  provider: OAuthProvider
  clock: Clock
  lock?: Partial<LockOptions>
  wrapStore?: (store: KeyValueStore) => KeyValueStore
}): Instance {
  const redisStore = createRedisStore(new Redis(opts.url))
  const store = opts.wrapStore ? opts.wrapStore(redisStore) : redisStore
  const grants = createGrantStore({ store, keyRing, prefix: opts.prefix })
  const metrics = createMetrics({ processMetrics: false })
  const logger = createLogger({ level: 'silent' })
  const common = { store, provider: opts.provider, clock: opts.clock, prefix: opts.prefix, logger, metrics }
  const lock = opts.lock ?? { leaseMs: 5000, waitMs: 10_000 }
  return {
    store,
    grants,
    metrics,
    manager: createTokenManager({ ...common, grants, refreshSkewSeconds: 60, grantTtlMs, lock }),
    clientCredentials: createClientCredentials({ ...common, keyRing, refreshSkewSeconds: 60, lock }),
    close: () => redisStore.close(),
  }
}

/** What the login callback does (http/session-lifecycle.ts): a grant record at version 1 and a session naming it. */
export async function login(grants: GrantStore, tokens: TokenSet, clock: Clock): Promise<BrokerSession> {
  const grantId = randomBytes(16).toString('base64url')
  const grant: Grant = { id: grantId, subject: 'alice', tokens, apiTokens: {}, createdAt: clock.now(), version: 1 }
  await grants.put(grant, grantTtlMs)
  return { sub: 'alice', claims: { sub: 'alice' }, grantId, logoutSid: 'sid', createdAt: clock.now() }
}


/** Records every store call by name, passing it on to the real store (a decorator of our port, not a mock). */
export function countingStore(store: KeyValueStore, calls: string[]): KeyValueStore {
  return new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        calls.push(String(name))
        return (value as (...a: unknown[]) => unknown).apply(target, args)
      }
    },
  })
}
