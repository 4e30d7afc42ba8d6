import { Redis } from 'ioredis'
import { createKeyRing } from '../../src/session/keyring.js'
import type { Grant } from '../../src/session/grant-store.js'
import { keysWithPrefix } from '../support/redis.js'

/** The grants the broker holds under `prefix`, opened with its key ring: the real token values to look for. */
export async function grantsInRedis(url: string, prefix: string, tokenKeys: string[]): Promise<Grant[]> {
  const keyRing = createKeyRing(tokenKeys)
  const keys = (await keysWithPrefix(url, prefix)).map((k) => k.key).filter((k) => k.startsWith(`${prefix}grant:`))
  const redis = new Redis(url, { maxRetriesPerRequest: 1 })
  try {
    const grants: Grant[] = []
    for (const key of keys) {
      const sealed = await redis.get(key)
      // grant:{<id>}: the id is the key's hash tag (session/keys.ts)
      const id = key.slice(prefix.length + 'grant:{'.length, -1)
      if (sealed) grants.push(JSON.parse(keyRing.open(sealed, `grant:${id}`)) as Grant)
    }
    return grants
  } finally {
    redis.disconnect()
  }
}
