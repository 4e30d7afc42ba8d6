import { connect } from 'node:net'

/** A WebSocket connection through the broker to the echo upstream, held open so a test can see when it is cut. */
export interface HeldWebSocket {
  /** the status of the handshake's answer (101 when the tunnel opened) */
  status: number
  /** sends `text` and resolves once the echo upstream's copy arrived; rejects if it does not within `timeoutMs` */
  roundTrip(text: string, timeoutMs?: number): Promise<void>
  isClosed(): boolean
  /** resolves when the connection closed; rejects after `timeoutMs` */
  closed(timeoutMs?: number): Promise<void>
  destroy(): void
}

/**
 * Opens a WebSocket handshake as a browser sends it (Origin and Cookie, no X-CSRF). The echo upstream answers 101
 * and echoes bytes, so frames need no encoding to show that the tunnel carries data.
 */
export function openWebSocket(url: string, headers: Record<string, string>): Promise<HeldWebSocket> {
  const target = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(target.port), target.hostname)
    let received = ''
    let status = 0
    let closed = false
    const waiters = new Set<() => void>()
    const notify = () => waiters.forEach((w) => w())
    const until = (done: () => boolean, timeoutMs: number, what: string) =>
      new Promise<void>((ok, fail) => {
        const check = () => {
          if (!done()) return
          clearTimeout(timer)
          waiters.delete(check)
          ok()
        }
        const timer = setTimeout(() => { waiters.delete(check); fail(new Error(`${what} within ${timeoutMs} ms`)) }, timeoutMs)
        waiters.add(check)
        check()
      })
    const held: HeldWebSocket = {
      get status() { return status },
      roundTrip(text, timeoutMs = 3000) {
        const from = received.length
        socket.write(text)
        return until(() => received.indexOf(text, from) !== -1, timeoutMs, `no echo of "${text}"`)
      },
      isClosed: () => closed,
      closed: (timeoutMs = 5000) => until(() => closed, timeoutMs, 'the connection did not close'),
      destroy: () => socket.destroy(),
    }
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1')
      if (!status && received.includes('\r\n\r\n')) {
        status = Number(received.slice(9, 12))
        received = received.slice(received.indexOf('\r\n\r\n') + 4)
        resolve(held)
      }
      notify()
    })
    socket.on('close', () => {
      closed = true
      if (!status) reject(new Error('closed before the handshake answer'))
      notify()
    })
    socket.on('error', () => undefined)
    const lines = [
      `GET ${target.pathname}${target.search} HTTP/1.1`, `Host: ${target.host}`, 'Upgrade: websocket', 'Connection: Upgrade',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13',
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ]
    socket.write(`${lines.join('\r\n')}\r\n\r\n`)
  })
}
