import type { IncomingMessage } from 'node:http'
import net from 'node:net'
import { forwardedInfo, type TrustProxy } from '../proxy/headers.js'

/**
 * The key every per-address limit counts under (rate limits, the connection cap), from an address as a socket or
 * `X-Forwarded-For` gives it:
 * - IPv4, and IPv4-mapped IPv6 (`::ffff:198.51.100.7`, RFC 4291 §2.5.5.2), → the dotted IPv4 address, so a
 *   dual-stack socket and a proxy that writes plain IPv4 count one client once;
 * - other IPv6 → its /64 prefix (`2001:db8:1:2::/64`): RFC 4291 §2.5.4 gives one /64 to each link and an end site
 *   gets a /64 or more (RFC 6177), so one client can rotate through 2^64 addresses at no cost;
 * - anything else (no address, `unknown`) → itself.
 */
export function addressKey(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown'
  const bare = address.replace(/%.*$/, '') // a zone id (fe80::1%eth0) names the interface, not the client
  if (net.isIPv4(bare)) return bare
  if (!net.isIPv6(bare)) return address
  const groups = ipv6Groups(bare)
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi = 0, lo = 0] = groups.slice(6)
    return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join('.')
  }
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`
}

/**
 * The client address of a request as express's `trust proxy` defines it (`req.ip`, or for a raw request before
 * express the same rules in forwardedInfo), as a per-address limit key.
 */
export function clientAddressKey(req: IncomingMessage, trustProxy: TrustProxy): string {
  return addressKey(forwardedInfo(req, trustProxy).chain[0])
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a dotted IPv4 tail turned into two groups). */
function ipv6Groups(address: string): number[] {
  const tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address)
  const hex = tail
    ? address.slice(0, tail.index) +
      [Number(tail[1]) * 256 + Number(tail[2]), Number(tail[3]) * 256 + Number(tail[4])].map((n) => n.toString(16)).join(':')
    : address
  const [head = '', rest] = hex.split('::')
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)))
  const left = parse(head)
  const right = rest === undefined ? [] : parse(rest)
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right]
}
