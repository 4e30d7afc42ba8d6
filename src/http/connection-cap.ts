import type { Server } from 'node:http'
import type { Socket } from 'node:net'
import { addressKey } from './client-address.js'

export interface ConnectionCapOptions {
  /** open connections allowed per client address key (an IPv6 client counts by its /64) */
  max: number
  /** a peer the app trusts as a proxy (express's compiled `trust proxy`): it carries many clients, so no cap */
  isTrustedProxy: (address: string) => boolean
  /** once per address each time it reaches the cap (not per refused connection: an attack must not flood the logs) */
  onCapped: (key: string) => void
  onRefused: () => void
}

/**
 * Caps the connections one client address holds open at once. A client that trickles bodies or headers holds a
 * socket each; without a cap one address can hold thousands. A connection past the cap is destroyed at the
 * 'connection' event, before a byte of it is parsed.
 */
export function capConnectionsPerClient(server: Server, opts: ConnectionCapOptions): void {
  const open = new Map<string, number>()
  const capped = new Set<string>()
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress
    if (address === undefined || opts.isTrustedProxy(address)) return
    const key = addressKey(address)
    const count = open.get(key) ?? 0
    if (count >= opts.max) {
      socket.destroy()
      opts.onRefused()
      if (!capped.has(key)) {
        capped.add(key)
        opts.onCapped(key)
      }
      return
    }
    open.set(key, count + 1)
    socket.once('close', () => {
      const left = (open.get(key) ?? 1) - 1
      if (left > 0) open.set(key, left)
      else open.delete(key)
      if (left < opts.max) capped.delete(key)
    })
  })
}
