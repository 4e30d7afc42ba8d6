import { describe, expect, it } from 'vitest'
import { createSingleFlight } from '../../../src/tokens/single-flight.js'

function deferred<T>() {
  let resolve!: (value: T) => void
  let reject!: (err: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

describe('single-flight', () => {
  it('when fifty callers ask for one key at once, then the work runs once and all get its result', async () => {
    const flights = createSingleFlight()
    const gate = deferred<string>()
    let runs = 0
    const work = () => {
      runs++
      return gate.promise
    }
    const calls = Array.from({ length: 50 }, () => flights.run('grant-1', work))
    gate.resolve('token')
    expect(await Promise.all(calls)).toEqual(Array(50).fill('token'))
    expect(runs).toBe(1)
  })

  it('when keys differ, then each key runs its own work', async () => {
    const flights = createSingleFlight()
    const [a, b] = await Promise.all([flights.run('a', async () => 'A'), flights.run('b', async () => 'B')])
    expect([a, b]).toEqual(['A', 'B'])
  })

  it('when the work fails, then every waiter sees the failure and the next call runs again', async () => {
    const flights = createSingleFlight()
    const gate = deferred<string>()
    const calls = [flights.run('k', () => gate.promise), flights.run('k', () => gate.promise)]
    gate.reject(new Error('provider down'))
    for (const call of calls) await expect(call).rejects.toThrow('provider down')
    expect(flights.size()).toBe(0)
    expect(await flights.run('k', async () => 'ok')).toBe('ok')
  })

  it('when the work throws synchronously, then the caller gets a rejected promise, not an exception', async () => {
    const flights = createSingleFlight()
    const call = flights.run('k', () => {
      throw new Error('boom')
    })
    await expect(call).rejects.toThrow('boom')
  })
})
