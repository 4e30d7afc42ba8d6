import type { Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { Writable } from 'node:stream'
import express from 'express'
import { apiRoute as sharedApiRoute } from '../../support/api-route.js'
import type { ApiRoute } from '../../../src/config/types.js'
import { notFound } from '../../../src/errors.js'
import { createErrorHandler, writeUpgradeRefusal } from '../../../src/http/errors.js'
import { createLogger } from '../../../src/observability/logger.js'
import { createApiProxy, type ApiProxy } from '../../../src/proxy/api-proxy.js'
import type { TrustProxy } from '../../../src/proxy/headers.js'
import { createRouteTable } from '../../../src/proxy/upstreams.js'

/** The token every proxied request carries in these tests (no sessions here: the lead's layers sit in front). */
export const testToken = 'at-test-token-0123456789'

// a short default upstream timeout, so a failing test does not hang for the config default (30 s)
export const apiRoute = (path: string, target: string, extra: Partial<ApiRoute> = {}): ApiRoute =>
  sharedApiRoute(path, target, { timeoutMs: 5_000, ...extra })

export interface ProxyApp {
  url: string
  port: number
  proxy: ApiProxy
  /** every log line written while the app ran */
  logs: string[]
  close(): Promise<void>
}

/** A minimal express app that mounts the proxy the way app.ts does, minus sessions, CSRF and tokens. */
export async function startProxyApp(
  routes: ApiRoute[],
  opts: { trustProxy?: TrustProxy; publicUrl?: URL } = {},
): Promise<ProxyApp> {
  const logs: string[] = []
  const destination = new Writable({ write(chunk, _enc, done) { logs.push(String(chunk)); done() } })
  const logger = createLogger({ level: 'debug', destination })
  const trustProxy = opts.trustProxy ?? false
  const table = createRouteTable(routes)
  const proxy = createApiProxy({
    logger, trustProxy, sessionCookieName: 'bff-session', csrfHeader: 'x-csrf', publicUrl: opts.publicUrl,
  })

  const app = express()
  app.set('trust proxy', trustProxy)
  // stands in for helmet: the broker's own security headers must survive whatever the upstream sends
  app.use((_req, res, next) => { res.setHeader('x-content-type-options', 'nosniff'); next() })
  // a cookie of the broker's own on the answer before the proxy writes it (as express-session would set one)
  app.use((req, res, next) => {
    const cookie = req.headers['x-test-broker-cookie']
    if (typeof cookie === 'string') res.setHeader('set-cookie', [cookie])
    next()
  })
  app.use(async (req, res, next) => {
    const match = table.match(req.originalUrl)
    if (!match) return next()
    await proxy.forward(req, res, match, testToken)
  })
  app.use(createErrorHandler({ logger, sessionCookieName: 'bff-session', cookieSecure: false, isApiPath: () => true }))

  const server: Server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const sockets = new Set<Socket>()
  server.on('connection', (s) => { sockets.add(s); s.once('close', () => sockets.delete(s)) })
  server.on('upgrade', (req, socket: Socket, head: Buffer) => {
    try {
      const match = table.match(req.url ?? '')
      if (!match?.route.websocket) throw notFound()
      proxy.upgrade(req, socket, head, match, testToken)
    } catch (err) {
      writeUpgradeRefusal(req, socket, err, { logger })
    }
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    proxy,
    logs,
    async close() {
      await proxy.close()
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** A loopback port nobody listens on. */
export async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net')
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

export async function until(check: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
