import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

// The demo's upstream API. Like any resource server it trusts nothing but the Bearer token: it asks the
// provider's userinfo endpoint who the token belongs to (the provider rejects unknown, expired or revoked
// tokens), so an answer here proves the broker attached a live token for the logged-in user.

export interface DemoApiRequest {
  method: string
  url: string
  /** the Authorization header as received (the e2e test reads the real access token from it) */
  authorization: string | undefined
  /** whose token it was, when the provider vouched for it */
  sub: string | undefined
  status: number
}

export interface DemoApi {
  url: string
  /** every request that reached the API, in order */
  requests: DemoApiRequest[]
  stop(): Promise<void>
}

const orders = [
  { id: 'A-1001', item: 'Teapot', quantity: 1 },
  { id: 'A-1002', item: 'Looking glass', quantity: 2 },
  { id: 'A-1003', item: 'Croquet mallet', quantity: 1 },
]

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers })
  res.end(JSON.stringify(body))
}

async function whoIs(authorization: string | undefined, userinfoUrl: string) {
  const match = /^Bearer ([\x21-\x7e]+)$/.exec(authorization ?? '')
  if (!match) return undefined
  const res = await fetch(userinfoUrl, { headers: { authorization: `Bearer ${match[1]}` }, signal: AbortSignal.timeout(5000) })
  if (!res.ok) return undefined
  return (await res.json()) as { sub: string; name?: string }
}

async function handle(req: IncomingMessage, res: ServerResponse, record: DemoApiRequest, userinfoUrl: string) {
  const user = await whoIs(req.headers.authorization, userinfoUrl)
  if (!user) {
    record.status = 401
    // RFC 6750 §3: say why, without echoing the token
    return json(res, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' })
  }
  record.sub = user.sub
  const path = new URL(req.url ?? '/', 'http://api').pathname
  record.status = path === '/orders' && req.method === 'GET' ? 200 : 404
  if (record.status === 404) return json(res, 404, { error: 'not_found' })
  json(res, 200, {
    message: `Hello ${user.name ?? user.sub}, this answer comes from the demo API behind the broker.`,
    sub: user.sub,
    orders: orders.map((o) => ({ ...o, id: `${o.id}-${user.sub}` })),
    servedAt: new Date().toISOString(),
  })
}

export async function startDemoApi(opts: { userinfoUrl: string; host?: string; port?: number }): Promise<DemoApi> {
  const requests: DemoApiRequest[] = []
  const server = createServer((req, res) => {
    const record: DemoApiRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      authorization: req.headers.authorization,
      sub: undefined,
      status: 0,
    }
    requests.push(record)
    handle(req, res, record, opts.userinfoUrl).catch(() => {
      record.status = 503
      if (!res.headersSent) json(res, 503, { error: 'provider_unreachable' })
    })
  })
  const host = opts.host ?? '127.0.0.1'
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, host, () => resolve())
  })
  return {
    url: `http://${host}:${(server.address() as AddressInfo).port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
