import type { IncomingMessage } from 'node:http'
import net from 'node:net'
import type { Duplex } from 'node:stream'
import tls from 'node:tls'
import { type BffError, notFound, upstreamTimeout, upstreamUnavailable } from '../errors.js'
import { type CookiePolicy, filterRawResponseHead } from './headers.js'
import type { RouteMatch } from './upstreams.js'

// The WebSocket upgrade tunnel: a raw socket to the upstream whose response head passes the same Set-Cookie and
// CORS rules as any proxied answer before the bytes are piped both ways.

export interface WebSocketTunnelOptions {
  cookiePolicy: CookiePolicy
  /** writes the refusal of an upgrade that failed before the upstream answered (502 or 504; `cause` for the log) */
  refuse(req: IncomingMessage, socket: Duplex, match: RouteMatch, error: BffError, cause: unknown): void
}

export interface WebSocketTunnel {
  /** Opens one tunnel; `headers` is the flat request header list for the upstream (Host is added here). */
  open(req: IncomingMessage, socket: Duplex, head: Buffer, match: RouteMatch, headers: string[]): void
  /** Cuts every open tunnel. */
  closeAll(): void
}

export function createWebSocketTunnel(opts: WebSocketTunnelOptions): WebSocketTunnel {
  const tunnels = new Set<Duplex>()

  function open(req: IncomingMessage, socket: Duplex, head: Buffer, match: RouteMatch, headers: string[]) {
    const { route, upstreamPath } = match
    // the caller decides which routes tunnel; this only guards against a forgotten check
    if (!route.websocket) return opts.refuse(req, socket, match, notFound(), undefined)
    const upstream = connect(route.target)
    let settled = false
    let tunnelled = false
    const fail = (error: BffError, err: unknown) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      opts.refuse(req, socket, match, error, err)
      upstream.destroy()
    }
    const timer = setTimeout(() => fail(upstreamTimeout(), new Error('no upgrade response')), route.timeoutMs)
    tunnels.add(socket)
    socket.once('close', () => { tunnels.delete(socket); upstream.destroy() })
    socket.on('error', () => upstream.destroy())
    upstream.on('error', (err) => fail(upstreamUnavailable(), err))
    upstream.once('close', () => (tunnelled ? socket.destroy() : fail(upstreamUnavailable(), new Error('closed early'))))
    upstream.write(requestHead(req.method ?? 'GET', upstreamPath, route.target.host, headers))
    if (head.length > 0) upstream.write(head)
    readResponseHead(upstream, (responseHead, rest) => {
      if (settled) return
      settled = tunnelled = true
      clearTimeout(timer)
      // from here on the upstream's answer (101 or not) belongs to the client: errors just close both ends
      socket.write(filterRawResponseHead(responseHead, route.passSetCookie, opts.cookiePolicy))
      if (rest.length > 0) socket.write(rest)
      upstream.pipe(socket)
      socket.pipe(upstream)
    })
  }

  function closeAll() {
    for (const socket of tunnels) socket.destroy()
  }

  return { open, closeAll }
}

function connect(target: URL): net.Socket {
  const host = target.hostname.replace(/^\[|\]$/g, '')
  const https = target.protocol === 'https:'
  const port = Number(target.port) || (https ? 443 : 80)
  return https
    ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ALPNProtocols: ['http/1.1'] })
    : net.connect({ host, port })
}

function requestHead(method: string, path: string, host: string, headers: string[]): string {
  let head = `${method} ${path} HTTP/1.1\r\nhost: ${host}\r\n`
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`
  return head + '\r\n'
}

const maxResponseHead = 64 * 1024

/** Collects the upstream's response head (up to the blank line) so Set-Cookie can be filtered from it. */
function readResponseHead(upstream: net.Socket, done: (head: string, rest: Buffer) => void) {
  let buffered = Buffer.alloc(0)
  const onData = (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk])
    const end = buffered.indexOf('\r\n\r\n')
    if (end === -1) {
      if (buffered.length > maxResponseHead) upstream.destroy(new Error('upgrade response head too large'))
      return
    }
    upstream.off('data', onData)
    upstream.pause()
    done(buffered.subarray(0, end).toString('latin1'), buffered.subarray(end + 4))
  }
  upstream.on('data', onData)
}
