import { ReplyError } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { isStoreUnavailableError } from '../../../src/session/redis-store.js'
import { ReplicaAckError } from '../../../src/session/replica-ack.js'

// The kinds ioredis raises (its own classes and fixed texts, Redis reply-error prefixes), built as ioredis builds them.
const reply = (message: string): Error => new ReplyError(message) as Error
const named = (name: string, message = 'x') => Object.assign(new Error(message), { name })

describe('isStoreUnavailableError', () => {
  it('when Redis answers a "not now" reply error, then it is a store outage', () => {
    for (const prefix of ['READONLY', 'OOM', 'LOADING', 'MASTERDOWN', 'CLUSTERDOWN', 'TRYAGAIN', 'BUSY', 'NOREPLICAS', 'MOVED', 'ASK']) {
      expect(isStoreUnavailableError(reply(`${prefix} some text`))).toBe(true)
    }
  })

  it('when a pipeline brings back a MOVED that ioredis did not follow (two slots of a failed-over primary), or too few replicas acknowledged a write, then it is a store outage', () => {
    expect(isStoreUnavailableError(reply('MOVED 15056 127.0.0.1:36845'))).toBe(true)
    expect(isStoreUnavailableError(new ReplicaAckError('write acknowledged by 0 of 1 replicas within 500 ms'))).toBe(true)
  })

  it('when a MULTI is aborted because its queued commands were refused with OOM, then it is a store outage', () => {
    const abort = Object.assign(reply('EXECABORT Transaction discarded because of previous errors.'), {
      previousErrors: [reply("OOM command not allowed when used memory > 'maxmemory'.")],
    })
    expect(isStoreUnavailableError(abort)).toBe(true)
  })

  it('when ioredis gives up (retries, abort, cluster refresh, redirections, timeout, closed link), then it is a store outage', () => {
    expect(isStoreUnavailableError(named('MaxRetriesPerRequestError'))).toBe(true)
    expect(isStoreUnavailableError(named('AbortError', 'Command aborted due to connection close'))).toBe(true)
    expect(isStoreUnavailableError(named('ClusterAllFailedError', 'Failed to refresh slots cache.'))).toBe(true)
    expect(isStoreUnavailableError(new Error('Too many Cluster redirections. Last error: MOVED 3999 127.0.0.1:7001'))).toBe(true)
    expect(isStoreUnavailableError(new Error('Command timed out'))).toBe(true)
    expect(isStoreUnavailableError(new Error('Connection is closed.'))).toBe(true)
    expect(isStoreUnavailableError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).toBe(true)
  })

  it('when the error is a bug (a wrong-type reply, a script error, a message that merely mentions a timeout), then it is not', () => {
    expect(isStoreUnavailableError(reply('WRONGTYPE Operation against a key holding the wrong kind of value'))).toBe(false)
    expect(isStoreUnavailableError(reply('ERR syntax error'))).toBe(false)
    expect(isStoreUnavailableError(new TypeError('Cannot read properties of undefined (Command timed out)'))).toBe(false)
    expect(isStoreUnavailableError('OOM')).toBe(false)
  })
})
