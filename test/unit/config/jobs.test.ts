import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../../src/config/load.js'
import { problemsOf, validRaw } from './fixtures.js'

const hash = `sha256:${'ab'.repeat(32)}`
const client = (extra: Record<string, unknown> = {}) => ({ id: 'nightly-report', secretHash: hash, ...extra })
const withJobs = (jobs: Record<string, unknown>) => ({
  ...validRaw(),
  apis: [
    { path: '/api/orders', target: 'http://orders.internal:8080' },
    { path: '/api/reports', target: 'http://reports.internal:8080' },
  ],
  jobs,
})

describe('jobs config', () => {
  it('when jobs is absent, then there are no clients and the defaults apply', () => {
    expect(parseConfig(validRaw(), {}).jobs).toEqual({
      tokenTtlSeconds: 300,
      offlineGrantIdleSeconds: 2_592_000,
      authFailureLimits: { perClientId: 10, perAddress: 30, windowSeconds: 300 },
      clients: [],
    })
  })

  it('when a client sets only id and secretHash, then it may call no API, act for nobody and administer nothing', () => {
    const config = parseConfig(withJobs({ clients: [client()] }), {})
    expect(config.jobs.clients).toEqual([{ id: 'nightly-report', secretHash: hash, apis: [], onBehalfOf: false, admin: false }])
  })

  it('when a client lists configured apis[].path values, then they are kept', () => {
    const config = parseConfig(withJobs({ clients: [client({ apis: ['/api/reports', '/api/orders'], onBehalfOf: true })] }), {})
    expect(config.jobs.clients[0]).toMatchObject({ apis: ['/api/reports', '/api/orders'], onBehalfOf: true })
  })

  it('when an apis entry names no configured apis[].path, then the error names that entry', () => {
    const raw = withJobs({ clients: [client(), client({ id: 'other', apis: ['/api/orders', '/api/nope'] })] })
    expect(problemsOf(raw)).toEqual(['jobs.clients[1].apis[1]: names no apis[].path (/api/nope)'])
  })

  it.each([
    ['upper-case hex', `sha256:${'AB'.repeat(32)}`],
    ['no prefix', 'ab'.repeat(32)],
    ['another algorithm', `sha512:${'ab'.repeat(32)}`],
    ['63 hex digits', `sha256:${'a'.repeat(63)}`],
    ['65 hex digits', `sha256:${'a'.repeat(65)}`],
    ['the secret itself', 'bRd6-dwX1F5xjG7ZyD9D1HhdHWINn0QYdBogIVy_IQk'],
    ['surrounding spaces', ` ${hash} `],
  ])('when secretHash has %s, then it is a config error naming the key and not echoing the value', (_what, secretHash) => {
    const problems = problemsOf(withJobs({ clients: [client({ secretHash })] }))
    expect(problems).toEqual([expect.stringMatching(/^jobs\.clients\[0\]\.secretHash: must be "sha256:" followed by 64 lowercase hex/)])
    expect(problems.join('\n')).not.toContain(secretHash.trim())
  })

  it('when two clients share an id, then the second is a config error', () => {
    expect(problemsOf(withJobs({ clients: [client(), client()] }))).toEqual([
      'jobs.clients[1].id: duplicate of jobs.clients[0].id (nightly-report)',
    ])
  })

  it.each(['', 'has space', 'colon:id', '-leading-dash', 'x'.repeat(65), 'ünicode'])(
    'when the client id is %j, then it is a config error',
    (id) => {
      expect(problemsOf(withJobs({ clients: [client({ id })] }))).toEqual([
        expect.stringMatching(/^jobs\.clients\[0\]\.id: must be 1 to 64 letters/),
      ])
    },
  )

  it.each([
    ['tokenTtlSeconds', 29],
    ['tokenTtlSeconds', 3601],
    ['offlineGrantIdleSeconds', 0],
  ])('when jobs.%s is %d, then it is out of bounds', (key, value) => {
    expect(problemsOf(withJobs({ [key]: value }))).toEqual([expect.stringMatching(new RegExp(`^jobs\\.${key}: `))])
  })

  it('when the failure limits are set, then they replace the defaults key by key', () => {
    const config = parseConfig(withJobs({ authFailureLimits: { perAddress: 100 } }), {})
    expect(config.jobs.authFailureLimits).toEqual({ perClientId: 10, perAddress: 100, windowSeconds: 300 })
    expect(problemsOf(withJobs({ authFailureLimits: { perClientId: 0 } }))).toEqual([
      expect.stringMatching(/^jobs\.authFailureLimits\.perClientId: /),
    ])
  })

  it('when a client has a misspelt key, then it is an unknown key with a suggestion', () => {
    expect(problemsOf(withJobs({ clients: [client({ secret_hash: hash })] }))).toEqual([
      'jobs.clients[0].secret_hash: unknown key (did you mean secretHash?)',
    ])
  })
})
