/**
 * The key-value port under sessions, grants, login transactions, locks and caches. Two implementations:
 * `redis-store.ts` (production, ioredis) and `memory-store.ts` (the demo without Redis). Both pass
 * test/contract/store.contract.ts. Every write carries a TTL: nothing the broker writes lives forever.
 */
export interface KeyValueStore {
  /** resolves when the store answers; rejects (quickly) otherwise */
  ping(): Promise<void>
  /** false while the connection is down: request paths answer 503 without waiting */
  isAvailable(): boolean
  get(key: string): Promise<string | undefined>
  /**
   * MGET: the values of keys that share one hash tag (one Redis Cluster slot, src/session/keys.ts), in one command;
   * keys of different slots fail in a cluster (CROSSSLOT), so callers pass only the keys of one grant
   */
  getTogether(keys: readonly string[]): Promise<Array<string | undefined>>
  set(key: string, value: string, ttlMs: number): Promise<void>
  /**
   * set / del that count only once the configured replicas hold them (`WAIT`, redis.waitForReplicas): for the records
   * a failover must not lose (sessions, grants) and their removal (revocation). Rejects with a store-unavailable
   * error when too few replicas acknowledged in time (the write may still be on the primary).
   */
  setReplicated(key: string, value: string, ttlMs: number): Promise<void>
  delReplicated(key: string): Promise<void>
  /** SET NX PX: true when this call created the key */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>
  /** GETDEL: read and delete in one step (single-use values) */
  take(key: string): Promise<string | undefined>
  /** SET XX KEEPTTL GET: replaces the value of a live key, keeping its TTL, and returns the old one (an atomic
   * single use that remembers it was used); a missing key stays missing */
  swap(key: string, value: string): Promise<string | undefined>
  del(...keys: string[]): Promise<void>
  /** deletes the key only while it still holds `value` (lock release without stealing another holder's lease) */
  delIfEquals(key: string, value: string): Promise<boolean>
  /** extends the TTL only while the key still holds `value` (lock lease renewal) */
  expireIfEquals(key: string, value: string, ttlMs: number): Promise<boolean>
  /** SADD; the set's TTL becomes at least ttlMs (never shortened by a shorter-lived member) */
  addToSet(key: string, member: string, ttlMs: number): Promise<void>
  /** PEXPIRE: a live key now expires in ttlMs; false when the key is gone */
  expire(key: string, ttlMs: number): Promise<boolean>
  /** PTTL: milliseconds a live key has left; undefined when it is gone (or has no TTL, which the broker never writes) */
  ttl(key: string): Promise<number | undefined>
  removeFromSet(key: string, member: string): Promise<void>
  setMembers(key: string): Promise<string[]>
  /** INCR with the TTL set on first increment (fixed-window counters) */
  increment(key: string, ttlMs: number): Promise<number>
  close(): Promise<void>
}
