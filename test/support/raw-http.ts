import { connect, type Socket } from 'node:net'

/**
 * Sends a request byte for byte (HTTP clients normalise `..` and manage `Connection` themselves) and returns the
 * status line's code and the raw response.
 */
export function rawRequest(origin: string, head: string, timeoutMs = 5000): Promise<{ status: number; raw: string }> {
  const { hostname, port } = new URL(origin)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname)
    let raw = ''
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no answer within ${timeoutMs} ms`))
    }, timeoutMs)
    socket.on('data', (d) => {
      raw += d.toString('latin1')
      // one response is enough: stop at the end of a JSON/HTML body with Content-Length
      const m = /content-length: (\d+)/i.exec(raw)
      const bodyStart = raw.indexOf('\r\n\r\n')
      if (m && bodyStart >= 0 && raw.length - bodyStart - 4 >= Number(m[1])) socket.end()
    })
    socket.on('close', () => {
      clearTimeout(timer)
      resolve({ status: Number(raw.slice(9, 12)), raw })
    })
    socket.on('error', reject)
    socket.write(head.endsWith('\r\n\r\n') ? head : `${head}\r\n\r\n`)
  })
}

export interface RawExchange {
  socket: Socket
  /** everything the server sent */
  received(): string
  /** resolves with the milliseconds from connect to the server closing the connection */
  closed: Promise<number>
}

/** A connected socket to `origin` that records what the server sends and when it closes, for slow-client tests. */
export async function openRaw(origin: string): Promise<RawExchange> {
  const { hostname, port } = new URL(origin)
  const socket = connect({ host: hostname, port: Number(port) })
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  const connectedAt = Date.now()
  let data = ''
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => (data += chunk))
  socket.on('error', () => {})
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - connectedAt)))
  return { socket, received: () => data, closed }
}
