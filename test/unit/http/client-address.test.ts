import { describe, expect, it } from 'vitest'
import { addressKey } from '../../../src/http/client-address.js'

describe('addressKey', () => {
  it('when the address is IPv4, then it is its own key', () => {
    expect(addressKey('198.51.100.7')).toBe('198.51.100.7')
  })

  it('when the address is IPv4-mapped IPv6, in dotted or hex form, then the key is the IPv4 address', () => {
    expect(addressKey('::ffff:198.51.100.7')).toBe('198.51.100.7')
    expect(addressKey('::FFFF:c633:6407')).toBe('198.51.100.7')
    expect(addressKey('0:0:0:0:0:ffff:198.51.100.7')).toBe('198.51.100.7')
  })

  it('when IPv6 addresses share their first 64 bits, then they share one key whatever their spelling', () => {
    const key = addressKey('2001:db8:1:2::1')
    expect(key).toBe('2001:db8:1:2::/64')
    expect(addressKey('2001:0db8:0001:0002:ffff:ffff:ffff:fffe')).toBe(key)
    expect(addressKey('2001:DB8:1:2:a:b:c:d')).toBe(key)
    expect(addressKey('2001:db8:1:3::1')).not.toBe(key)
  })

  it('when the IPv6 address is compressed at the front or carries a zone id, then the prefix is still right', () => {
    expect(addressKey('::1')).toBe('0:0:0:0::/64')
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64')
    expect(addressKey('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64')
  })

  it('when there is no address, then the key is unknown', () => {
    expect(addressKey(undefined)).toBe('unknown')
    expect(addressKey('')).toBe('unknown')
    expect(addressKey('unknown')).toBe('unknown')
  })
})
