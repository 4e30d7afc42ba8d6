import { describe, expect, it } from 'vitest'
import { createJobClients, parseBasicCredentials, secretHashOf } from '../../../src/jobs/job-clients.js'

const basic = (userPass: string) => `Basic ${Buffer.from(userPass, 'utf8').toString('base64')}`
const secret = 'bRd6-dwX1F5xjG7ZyD9D1HhdHWINn0QYdBogIVy_IQk'
const client = { id: 'nightly-report', secretHash: secretHashOf(secret), apis: ['/api/orders'], onBehalfOf: true, admin: false }
const clients = createJobClients([client])

describe('parseBasicCredentials (RFC 7617, RFC 6749 §2.3.1)', () => {
  it('when the header is well-formed, then id and secret are split at the first colon', () => {
    expect(parseBasicCredentials(basic('nightly-report:a:b'))).toEqual({ clientId: 'nightly-report', secret: 'a:b' })
  })

  it('when id and secret are form-urlencoded, then they are decoded (+ is a space, %XX an octet)', () => {
    expect(parseBasicCredentials(basic('my%3Aid:p%2Bw+d%C3%A9%25'))).toEqual({ clientId: 'my:id', secret: 'p+w dé%' })
  })

  it('when the scheme is spelt in another case, then it is accepted (auth schemes are case-insensitive)', () => {
    expect(parseBasicCredentials(basic('id:s').replace('Basic', 'bAsIc'))).toEqual({ clientId: 'id', secret: 's' })
  })

  it.each([
    ['another scheme', `Bearer ${Buffer.from('id:s').toString('base64')}`],
    ['no credentials', 'Basic'],
    ['no colon', basic('nightly-report')],
    ['an empty id', basic(':secret')],
    ['base64 with stray characters', 'Basic aWQ6c2VjcmV0!'],
    ['base64 of a wrong length', 'Basic aWQ6c2VjcmV0a'],
    ['two tokens', `Basic ${Buffer.from('id:s').toString('base64')} more`],
    ['bytes that are not UTF-8', `Basic ${Buffer.from([0x69, 0x64, 0x3a, 0xff, 0xfe]).toString('base64')}`],
    ['a bad percent escape', basic('id:100%')],
    ['a header over 1024 characters', basic(`id:${'s'.repeat(1024)}`)],
  ])('when the header has %s, then it is malformed', (_what, header) => {
    expect(parseBasicCredentials(header)).toBeUndefined()
  })
})

describe('createJobClients().authenticate', () => {
  it('when the id and secret match the configured hash, then the client is returned', () => {
    expect(clients.authenticate(basic(`nightly-report:${secret}`))).toEqual({ ok: true, client })
  })

  it('when the secret is wrong, then wrong_secret with the claimed id', () => {
    expect(clients.authenticate(basic(`nightly-report:${secret}x`))).toEqual({ ok: false, reason: 'wrong_secret', clientId: 'nightly-report' })
  })

  it('when the id is unknown, then unknown_client, even with a configured secret', () => {
    expect(clients.authenticate(basic(`nightly:${secret}`))).toEqual({ ok: false, reason: 'unknown_client', clientId: 'nightly' })
  })

  it('when there is no header or a malformed one, then no_credentials or malformed_credentials without an id', () => {
    expect(clients.authenticate(undefined)).toEqual({ ok: false, reason: 'no_credentials' })
    expect(clients.authenticate('Basic %%%')).toEqual({ ok: false, reason: 'malformed_credentials' })
  })

  it('when the configured hash is the hash of the secret, then secretHashOf gives the config form', () => {
    expect(secretHashOf('abc')).toBe('sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  })
})
