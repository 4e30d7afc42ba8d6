import { randomBytes } from 'node:crypto'
import { idpUnavailable } from '../errors.js'
import type { KeyValueStore } from '../session/store.js'

export interface LockOptions {
  /** lease of the lock key; outlives one provider call, and is renewed every leaseMs/3 while the holder runs */
  leaseMs: number
  /** how long a waiter polls before it gives up with 503 */
  waitMs: number
  /** how long the lock took to get (bff_token_lock_wait_seconds), or how long was waited before giving up */
  onWait?: (seconds: number, outcome: 'acquired' | 'timeout') => void
}

/**
 * Both bounds derive from the provider timeout: the lease must not lapse while the token request is still out (a
 * second instance would then present the same refresh token), and a waiter must wait out a slow but healthy refresh.
 */
export function lockOptionsFor(providerTimeoutMs: number): LockOptions {
  return { leaseMs: providerTimeoutMs + 5000, waitMs: providerTimeoutMs + 5000 }
}

/**
 * Runs `fn` while holding `key` across every instance sharing the store: SET NX PX with a random holder token,
 * renewed (expireIfEquals) while `fn` runs, released with delIfEquals so an expired holder never frees another
 * holder's lease. A waiter that cannot get the lock in `waitMs` throws idp_unavailable (503): refreshing without the
 * lock could replay a rotated refresh token, which makes the provider revoke the whole grant (docs/architecture.md
 * "Dependency notes").
 */
export async function withLock<T>(
  store: KeyValueStore,
  key: string,
  fn: () => Promise<T>,
  options: LockOptions,
): Promise<T> {
  const holder = randomBytes(16).toString('base64url')
  await acquire(store, key, holder, options)
  const stopRenewal = renewWhileRunning(store, key, holder, options.leaseMs)
  try {
    return await fn()
  } finally {
    stopRenewal()
    // a failed release only delays the next holder until the lease ends
    await store.delIfEquals(key, holder).catch(() => false)
  }
}

async function acquire(store: KeyValueStore, key: string, holder: string, options: LockOptions): Promise<void> {
  const started = performance.now()
  const waited = (outcome: 'acquired' | 'timeout') => options.onWait?.((performance.now() - started) / 1000, outcome)
  const deadline = Date.now() + options.waitMs
  for (let attempt = 0; ; attempt++) {
    if (await store.setIfAbsent(key, holder, options.leaseMs)) return waited('acquired')
    const leftMs = deadline - Date.now()
    if (leftMs <= 0) {
      waited('timeout')
      throw idpUnavailable({ detail: `token refresh lock not acquired within ${options.waitMs} ms` })
    }
    await sleep(Math.min(leftMs, backoffMs(attempt)))
  }
}

// 10, 20, 40 … 200 ms, jittered ±50% so waiters of several instances do not poll in step
function backoffMs(attempt: number): number {
  const base = Math.min(10 * 2 ** attempt, 200)
  return base / 2 + Math.random() * base
}

function renewWhileRunning(store: KeyValueStore, key: string, holder: string, leaseMs: number): () => void {
  const timer = setInterval(() => {
    // a failed renewal is retried on the next tick, while two thirds of the lease are still left
    store.expireIfEquals(key, holder, leaseMs).catch(() => false)
  }, Math.max(1, Math.floor(leaseMs / 3)))
  timer.unref()
  return () => clearInterval(timer)
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
