import type { DialectName } from '../../../src/config/types.js'
import { breakoutServer } from './breakout.js'
import { identityHubServer } from './identity-hub.js'
import { lightOauth2Server } from './light-oauth2.js'
import { samsungAccountServer } from './samsung-account.js'
import { samiServer } from './sami.js'
import { startServer, type WireServer, type WireServerOptions } from './server.js'

export type { RecordedRequest, TokenFault, WireServer, WireServerOptions } from './server.js'
export { samsungTokenPath } from './samsung-account.js'

/**
 * Starts a wire-format server for a documented provider shape on 127.0.0.1, port 0. It asserts the requests
 * the broker sends (method, path, client authentication, body format, scope separator, response_type) and
 * answers what the provider's docs show. Failed assertions come back as 400 and land in `problems`.
 */
export function startWireServer(dialect: DialectName, opts: WireServerOptions = {}): Promise<WireServer> {
  switch (dialect) {
    case 'sami':
      return startServer(samiServer(), opts)
    case 'samsung-account':
      return startServer(samsungAccountServer(), opts)
    case 'light-oauth2':
      return startServer(lightOauth2Server(), opts)
    case 'identity-hub':
      return startServer(identityHubServer(opts.tenant ?? 'acme'), { tenant: 'acme', ...opts })
    case 'breakout':
      return startServer(breakoutServer(opts.users ?? { 'admin@break-out.org': 'password' }), opts)
  }
}
