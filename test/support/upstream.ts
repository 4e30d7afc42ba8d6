import { createHash } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { setTimeout as sleep } from 'node:timers/promises'

/**
 * A tiny echo API on loopback standing in for the upstreams behind the broker. It records every request it
 * receives (what reached it is what the tests assert on) and serves:
 *   /echo…           JSON {method, url, headers} (any path under /echo)
 *   /small, /64k     ~200 B JSON and a 64 KiB body, for benchmarks
 *   /bytes/:n        n bytes of a fixed pattern (see patternSha256), streamed with back-pressure
 *   /upload          counts and hashes the request body: JSON {bytes, sha256}
 *   /sse             two server-sent events ?gapMs (default 300) apart
 *   /hang            a head and one chunk, then nothing until the client goes away
 *   /slow/:ms        JSON after ms milliseconds
 *   /status/:code    that status with a JSON body
 *   /set-cookie      a few cookies, including ones named like the broker's session cookie
 *   /headers/:code   that status, with each query parameter as a response header (?location=/x&vary=Accept)
 *   upgrade          a WebSocket handshake (101) then every byte echoed back
 */

export interface UpstreamRequest {
  method: string
  url: string
  headers: IncomingHttpHeaders
  /** body bytes received so far */
  bodyLength: number
  /** the connection closed before the response was complete (client abort seen by the upstream) */
  closedEarly: boolean
  upgrade: boolean
}

export interface Upstream {
  url: string
  port: number
  requests: UpstreamRequest[]
  stop(): Promise<void>
}

const block = Buffer.alloc(64 * 1024, 0).map((_, i) => (i * 31 + 7) & 0xff)

/** sha256 (hex) of the n bytes /bytes/:n sends. */
export function patternSha256(n: number): string {
  const hash = createHash('sha256')
  for (let left = n; left > 0; left -= block.length) hash.update(block.subarray(0, Math.min(left, block.length)))
  return hash.digest('hex')
}

function json(res: ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

function* pattern(n: number) {
  for (let left = n; left > 0; left -= block.length) yield block.subarray(0, Math.min(left, block.length))
}

async function streamBytes(res: ServerResponse, n: number) {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': n })
  // pipeline keeps to the client's pace and stops when it goes away
  await pipeline(Readable.from(pattern(n), { objectMode: false }), res).catch(() => {})
}

async function handle(req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? '/', 'http://upstream')
  const [, first = '', arg = ''] = url.pathname.split('/')
  switch (first) {
    case 'echo':
      return json(res, 200, { method: req.method, url: req.url, headers: req.headers })
    case 'small':
      return json(res, 200, { id: 42, name: 'small', items: ['a', 'b', 'c'], note: 'x'.repeat(120) })
    case '64k':
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': block.length })
      return res.end(block)
    case 'bytes':
      return streamBytes(res, Number(arg))
    case 'upload': {
      const hash = createHash('sha256')
      let bytes = 0
      for await (const chunk of req) { hash.update(chunk as Buffer); bytes += (chunk as Buffer).length }
      return json(res, 200, { bytes, sha256: hash.digest('hex') })
    }
    case 'sse': {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
      res.write('id: 1\ndata: first\n\n')
      await sleep(Number(url.searchParams.get('gapMs') ?? 300))
      res.write('id: 2\ndata: second\n\n')
      return res.end()
    }
    case 'hang':
      res.writeHead(200, { 'content-type': 'text/plain' })
      return res.write('started\n')
    case 'slow':
      await sleep(Number(arg))
      return res.destroyed ? undefined : json(res, 200, { waitedMs: Number(arg) })
    case 'status':
      return json(res, Number(arg), { status: Number(arg) })
    case 'set-cookie':
      res.setHeader('set-cookie', [
        'theme=dark; Path=/',
        'bff-session=forged; Path=/; HttpOnly',
        '__Host-bff-session=forged; Path=/; Secure',
        'lang=en; Path=/',
      ])
      return json(res, 200, { ok: true })
    case 'headers':
      for (const name of new Set(url.searchParams.keys())) res.setHeader(name, url.searchParams.getAll(name))
      return json(res, Number(arg) || 200, { ok: true })
    default:
      return json(res, 404, { error: 'not_found' })
  }
}

export async function startUpstream(): Promise<Upstream> {
  const requests: UpstreamRequest[] = []
  const sockets = new Set<Socket>()
  const server = createServer((req, res) => {
    const record: UpstreamRequest = {
      method: req.method ?? '', url: req.url ?? '', headers: req.headers, bodyLength: 0, closedEarly: false, upgrade: false,
    }
    requests.push(record)
    req.on('data', (chunk: Buffer) => { record.bodyLength += chunk.length })
    res.on('close', () => { if (!res.writableFinished) record.closedEarly = true })
    handle(req, res).catch(() => res.destroy())
  })
  server.on('connection', (socket) => { sockets.add(socket); socket.once('close', () => sockets.delete(socket)) })
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    requests.push({
      method: req.method ?? '', url: req.url ?? '', headers: req.headers, bodyLength: 0, closedEarly: false, upgrade: true,
    })
    const key = String(req.headers['sec-websocket-key'] ?? '')
    const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64')
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${accept}\r\nSet-Cookie: bff-session=forged; Path=/\r\n\r\n`,
    )
    if (head.length > 0) socket.write(head)
    // a byte echo is enough to show the tunnel carries data both ways; frames need no parsing for that
    socket.pipe(socket)
    socket.on('error', () => socket.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    async stop() {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
