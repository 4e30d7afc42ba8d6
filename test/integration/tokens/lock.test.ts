import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { BffError } from '../../../src/errors.js'
import { createRedisStore } from '../../../src/session/redis-store.js'
import { withLock } from '../../../src/tokens/lock.js'
import { redisUrl, uniquePrefix } from '../../support/redis.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const prefix = uniquePrefix('tokens-lock')
// two clients: two "instances" contending through Redis, not through one connection
const storeA = createRedisStore(new Redis(redisUrl()))
const storeB = createRedisStore(new Redis(redisUrl()))
afterAll(async () => {
  await storeA.close()
  await storeB.close()
})

describe('withLock on real Redis', () => {
  it('when two instances run under one key at once, then their critical sections never overlap', async () => {
    const key = `${prefix}overlap`
    let inside = 0
    let maxInside = 0
    const section = async () => {
      inside++
      maxInside = Math.max(maxInside, inside)
      await sleep(20)
      inside--
    }
    const options = { leaseMs: 2000, waitMs: 5000 }
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => withLock(i % 2 ? storeA : storeB, key, section, options)),
    )
    expect(maxInside).toBe(1)
    expect(await storeA.get(key)).toBeUndefined()
  })

  it('when the work outlasts the lease, then the lease is renewed and a contender still waits', async () => {
    const key = `${prefix}renew`
    const order: string[] = []
    const slow = withLock(storeA, key, async () => {
      order.push('a:start')
      await sleep(600)
      order.push('a:end')
    }, { leaseMs: 150, waitMs: 2000 })
    await sleep(30)
    const contender = withLock(storeB, key, async () => void order.push('b'), { leaseMs: 150, waitMs: 3000 })
    await Promise.all([slow, contender])
    expect(order).toEqual(['a:start', 'a:end', 'b'])
  })

  it('when the lock stays taken past waitMs, then the waiter gives up with idp_unavailable and never runs', async () => {
    const key = `${prefix}wait`
    await storeA.set(key, 'someone-else', 5000)
    let ran = false
    const attempt = withLock(storeB, key, async () => void (ran = true), { leaseMs: 1000, waitMs: 200 })
    const error = await attempt.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BffError)
    expect(error).toMatchObject({ code: 'idp_unavailable', status: 503 })
    expect(ran).toBe(false)
    await storeA.del(key)
  })

  it('when the work throws, then the error passes through and the lock is released', async () => {
    const key = `${prefix}throws`
    const failing = withLock(storeA, key, async () => {
      throw new Error('provider exploded')
    }, { leaseMs: 2000, waitMs: 1000 })
    await expect(failing).rejects.toThrow('provider exploded')
    expect(await storeA.get(key)).toBeUndefined()
  })

  it('when the lease was lost to another holder, then releasing leaves the other holder\'s key alone', async () => {
    const key = `${prefix}stolen`
    await withLock(storeA, key, async () => {
      // as if the lease had lapsed and another instance had taken the lock
      await storeB.set(key, 'other-holder', 5000)
    }, { leaseMs: 2000, waitMs: 1000 })
    expect(await storeA.get(key)).toBe('other-holder')
    await storeA.del(key)
  })
})
