import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startUpstream, type Upstream } from '../../support/upstream.js'
import { apiRoute, closedPort, startProxyApp, testToken, type ProxyApp } from './proxy-app.js'

let upstream: Upstream
let app: ProxyApp

beforeAll(async () => {
  upstream = await startUpstream()
  app = await startProxyApp([
    apiRoute('/api/ws', `${upstream.url}/socket`, { websocket: true }),
    apiRoute('/api/ws-down', `http://127.0.0.1:${await closedPort()}`, { websocket: true, timeoutMs: 1_000 }),
  ])
})
afterAll(async () => {
  await app?.close()
  await upstream?.stop()
})

/** Opens a raw connection, sends an upgrade request and resolves with the response head and the socket. */
function openUpgrade(path: string, extraHeaders: string[] = []) {
  return new Promise<{ head: string; socket: net.Socket; rest: Buffer }>((resolve, reject) => {
    const socket = net.connect(app.port, '127.0.0.1', () => {
      socket.write(
        [
          `GET ${path} HTTP/1.1`, `Host: 127.0.0.1:${app.port}`, 'Connection: Upgrade', 'Upgrade: websocket',
          'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', ...extraHeaders, '', '',
        ].join('\r\n'),
      )
    })
    let buffered = Buffer.alloc(0)
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk])
      const end = buffered.indexOf('\r\n\r\n')
      if (end === -1) return
      socket.off('data', onData)
      resolve({ head: buffered.subarray(0, end).toString('latin1'), socket, rest: buffered.subarray(end + 4) })
    }
    socket.on('data', onData)
    socket.on('error', reject)
  })
}

const readAtLeast = (socket: net.Socket, n: number, initial: Buffer) =>
  new Promise<Buffer>((resolve) => {
    let got = initial
    if (got.length >= n) return resolve(got)
    socket.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk])
      if (got.length >= n) resolve(got)
    })
  })

describe('websocket tunnelling', () => {
  it('when a websocket upgrade is proxied, then the upstream gets Bearer and no cookie and bytes flow both ways', async () => {
    const { head, socket, rest } = await openUpgrade('/api/ws/chat?room=1', [
      'Cookie: bff-session=s%3Asecret', 'X-CSRF: 1', 'Authorization: Bearer forged', 'Origin: http://app.example',
    ])
    try {
      expect(head).toMatch(/^HTTP\/1\.1 101 /)
      expect(head).toContain('Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=')
      expect(head.toLowerCase()).not.toContain('set-cookie')
      const seen = upstream.requests.at(-1)
      expect(seen?.upgrade).toBe(true)
      expect(seen?.url).toBe('/socket/chat?room=1')
      expect(seen?.headers.authorization).toBe(`Bearer ${testToken}`)
      expect(seen?.headers.cookie).toBeUndefined()
      expect(seen?.headers['x-csrf']).toBeUndefined()
      expect(seen?.headers.origin).toBe('http://app.example')
      expect(seen?.headers.upgrade).toBe('websocket')

      const payload = Buffer.from('hello through the tunnel')
      socket.write(payload)
      const echoed = await readAtLeast(socket, payload.length, rest)
      expect(echoed.toString()).toBe(payload.toString())
    } finally {
      socket.destroy()
    }
  })

  it('when the websocket upstream is unreachable, then the client gets 502 upstream_unavailable', async () => {
    const { head, socket, rest } = await openUpgrade('/api/ws-down/chat')
    const body = await new Promise<string>((resolve) => {
      let text = rest.toString()
      socket.on('data', (c: Buffer) => { text += c.toString() })
      socket.on('close', () => resolve(text))
    })
    expect(head).toMatch(/^HTTP\/1\.1 502 /)
    expect(JSON.parse(body)).toEqual({ error: 'upstream_unavailable', message: expect.any(String) as string })
  })

  it('when the broker closes, then open websocket tunnels are cut', async () => {
    const extra = await startProxyApp([apiRoute('/api/ws', upstream.url, { websocket: true })])
    const { head, socket } = await (async () => {
      const s = net.connect(extra.port, '127.0.0.1')
      s.write('GET /api/ws/x HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: a2V5\r\n\r\n')
      const first = await new Promise<Buffer>((resolve) => s.once('data', resolve))
      return { head: first.toString('latin1'), socket: s }
    })()
    expect(head).toMatch(/^HTTP\/1\.1 101 /)
    const closed = new Promise((resolve) => socket.once('close', resolve))
    await extra.close()
    await closed
  })
})
