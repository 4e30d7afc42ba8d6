/**
 * In-process single-flight: concurrent callers with the same key share one promise, so N requests of one session
 * cost one lock round trip and at most one refresh (docs/architecture.md invariant 10; Duende AccessTokenManagement's
 * synchronisation). The entry is removed once the promise settles, so a failure is not cached.
 */
export interface SingleFlight {
  run<T>(key: string, fn: () => Promise<T>): Promise<T>
  /** keys with a call in flight (for tests and diagnostics) */
  size(): number
}

export function createSingleFlight(): SingleFlight {
  const inFlight = new Map<string, Promise<unknown>>()
  return {
    run<T>(key: string, fn: () => Promise<T>): Promise<T> {
      const existing = inFlight.get(key)
      if (existing) return existing as Promise<T>
      const promise: Promise<T> = Promise.resolve()
        .then(fn)
        .finally(() => {
          if (inFlight.get(key) === promise) inFlight.delete(key)
        })
      inFlight.set(key, promise)
      return promise
    },
    size: () => inFlight.size,
  }
}
