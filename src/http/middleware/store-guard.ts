import type { RequestHandler } from 'express'
import type { KeyValueStore } from '../../session/store.js'
import { storeUnavailable } from '../../errors.js'

/** The store guard: fail fast while Redis is down (invariant 8): 503, never a wait on a dead connection or an anonymous 401. */
export function checkStoreAvailable(store: Pick<KeyValueStore, 'isAvailable'>): void {
  if (!store.isAvailable()) throw storeUnavailable({ detail: 'store not connected' })
}

/** The store guard as express middleware, for routes that do not run the authentication step. */
export function createStoreGuard(store: Pick<KeyValueStore, 'isAvailable'>): RequestHandler {
  return (_req, _res, next) => {
    checkStoreAvailable(store)
    next()
  }
}
