import { Redis } from 'ioredis'

/**
 * The size of what a broker keeps for one browser session under `keyPrefix`: one session record plus one sealed
 * grant (the last of each found; an offline login makes a second of each, of the same size). The floor proxy (arm C)
 * reads a blob this large on every request.
 */
export async function sessionRecordBytes(redisUrl: string, keyPrefix: string): Promise<{ session: number; grant: number; total: number }> {
  const client = new Redis(redisUrl)
  try {
    const sizes = { session: 0, grant: 0 }
    for (const key of await client.keys(`${keyPrefix}*`)) {
      if (key.startsWith(`${keyPrefix}sess:`)) sizes.session = await client.strlen(key)
      if (key.startsWith(`${keyPrefix}grant:`)) sizes.grant = await client.strlen(key)
    }
    return { ...sizes, total: sizes.session + sizes.grant }
  } finally {
    client.disconnect()
  }
}
