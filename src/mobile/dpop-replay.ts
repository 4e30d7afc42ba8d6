import type { KeyValueStore } from '../session/store.js'
import type { DpopReplayCheck } from './dpop.js'
import { sha256b64url } from '../sha256.js'
import { redisKeys, type RedisKeys } from '../session/keys.js'

/**
 * The jti replay record of RFC 9449 §11.1 on the key-value port: one SET NX PX per proof, so every broker instance
 * sharing the store sees every jti. Keyed by a hash of (jkt, jti): the key stays short whatever the jti, and one
 * key's jti cannot collide with another key's. A store failure rejects (the caller answers 503, never "first seen").
 */
export function createDpopReplayCheck(deps: { store: KeyValueStore; prefix: string }): DpopReplayCheck {
  // the key layout is built once, not on every proof (this runs on every DPoP request)
  const keyOf = jtiKeyOf(redisKeys(deps.prefix))
  return (jti, ttlMs, jkt) => deps.store.setIfAbsent(keyOf(jkt, jti), '1', ttlMs)
}

// a jkt is 43 base64url characters, so the '.' cannot be part of it: the pair is unambiguous
const jtiKeyOf = (keys: RedisKeys) => (jkt: string, jti: string) => keys.dpopJti(sha256b64url(`${jkt}.${jti}`))

export function dpopJtiKey(prefix: string, jkt: string, jti: string): string {
  return jtiKeyOf(redisKeys(prefix))(jkt, jti)
}
