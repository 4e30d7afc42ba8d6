import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Redis } from 'ioredis'
import { Pool } from 'undici'
import { serveChild } from '../lib/ipc.js'

// Arms B and C of bench/proxy-overhead.ts.
//   B (BENCH_MODE=bare):  node:http + undici Pool.stream with keep-alive, no auth: the cost of the hop.
//   C (BENCH_MODE=floor): B plus one Redis GET of a session blob as large as the broker's real records (session +
//     sealed grant), a JSON.parse of it and the Authorization header: the physical floor of any BFF.
// Both strip the route prefix like the broker does (/api/small -> /small) and drop hop-by-hop headers, nothing more.

const mode = process.env.BENCH_MODE === 'floor' ? 'floor' : 'bare'
const upstream = new URL(process.env.BENCH_UPSTREAM ?? '')
const prefix = process.env.BENCH_PREFIX ?? '/api'
const hopByHop = new Set(['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-connection', 'host'])

function requestHeaders(raw: string[], token: string | undefined): string[] {
  const out: string[] = []
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string
    if (!hopByHop.has(name.toLowerCase())) out.push(name, raw[i + 1] as string)
  }
  if (token) out.push('authorization', `Bearer ${token}`)
  return out
}

/** The cookie's value, used as is as the Redis key (the floor signs nothing and verifies nothing). */
function sessionKey(cookie: string | undefined): string | undefined {
  const start = cookie?.indexOf('=') ?? -1
  if (!cookie || start < 0) return undefined
  const end = cookie.indexOf(';', start)
  return `bench:floor:${cookie.slice(start + 1, end < 0 ? undefined : end)}`
}

await serveChild(async () => {
  const pool = new Pool(upstream.origin, { connections: null })
  const redis = mode === 'floor' ? new Redis(process.env.BENCH_REDIS ?? '', { enableOfflineQueue: false, enableAutoPipelining: true }) : undefined
  if (redis) {
    await new Promise<void>((resolve) => redis.once('ready', () => resolve()))
    // the blob the floor reads on each request: as many bytes as the broker's session record plus sealed grant
    const cookie = process.env.BENCH_COOKIE ?? ''
    const size = Number(process.env.BENCH_BLOB_BYTES ?? 1024)
    const record = { cookie: { path: '/', httpOnly: true }, broker: { sub: 'alice', accessToken: 'at-floor-0123456789abcdef' }, pad: '' }
    record.pad = 'x'.repeat(Math.max(0, size - JSON.stringify(record).length))
    await redis.set(sessionKey(cookie) as string, JSON.stringify(record), 'EX', 3600)
  }

  function forward(req: IncomingMessage, res: ServerResponse, token: string | undefined) {
    const url = req.url ?? '/'
    const path = url.startsWith(prefix) ? url.slice(prefix.length) || '/' : url
    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined
    pool
      .stream(
        { path, method: req.method as 'GET', headers: requestHeaders(req.rawHeaders, token), body: hasBody ? req : null },
        ({ statusCode, headers }) => {
          res.statusCode = statusCode
          for (const [name, value] of Object.entries(headers)) {
            if (value !== undefined && !hopByHop.has(name)) res.setHeader(name, value)
          }
          return res
        },
      )
      .catch(() => {
        if (res.headersSent) return res.destroy()
        res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":"upstream_unavailable"}')
      })
  }

  const server = createServer((req, res) => {
    if (!redis) return forward(req, res, undefined)
    const key = sessionKey(req.headers.cookie)
    if (!key) return res.writeHead(401).end()
    redis.get(key).then(
      (blob) => {
        if (!blob) return res.writeHead(401).end()
        const record = JSON.parse(blob) as { broker: { accessToken: string } }
        forward(req, res, record.broker.accessToken)
      },
      () => res.writeHead(503).end(),
    )
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    info: { url: `http://127.0.0.1:${port}` },
    async stop() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await pool.close()
      redis?.disconnect()
    },
  }
})
