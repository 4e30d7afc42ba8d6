import { connect } from 'node:net'

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
