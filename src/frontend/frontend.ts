import type { RequestHandler } from 'express'
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { FrontendConfig } from '../config/types.js'
import type { ApiProxy } from '../proxy/api-proxy.js'
import { defaultAppPolicy } from './csp.js'
import { createDevServerProxy } from './dev-server.js'
import { createStaticFiles } from './static-files.js'

export interface Frontend {
  /** express middleware after the broker's routes and the API routes, before the 404 */
  handler: RequestHandler
  /** WebSocket upgrades no API route takes; only with a dev server (else such upgrades are a 404) */
  upgrade?(req: IncomingMessage, socket: Duplex, head: Buffer): void
}

export interface FrontendDeps {
  config: FrontendConfig
  publicUrl: URL
  basePath: string
  /** the broker's routes outside basePath (/healthz, /readyz, /metrics) */
  brokerPaths: readonly string[]
  proxy: ApiProxy
}

/** The SPA on the broker's origin (`frontend.static` or `frontend.target`), so its cookies stay first-party. */
export function createFrontend(deps: FrontendDeps): Frontend {
  const { config } = deps
  const owned = [deps.basePath, ...deps.brokerPaths]
  // broker routes always win: even a path of theirs that no route answers stays the broker's (a 404 of its own)
  const ownsPath = (path: string) => owned.some((prefix) => path === prefix || path.startsWith(`${prefix}/`))
  const contentSecurityPolicy = config.contentSecurityPolicy ?? defaultAppPolicy(config.kind, deps.publicUrl)
  if (config.kind === 'static') {
    return { handler: createStaticFiles({ directory: config.directory, contentSecurityPolicy, ownsPath }) }
  }
  return createDevServerProxy({ target: config.target, contentSecurityPolicy, ownsPath, proxy: deps.proxy })
}
