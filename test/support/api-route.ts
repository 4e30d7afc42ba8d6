import type { ApiRoute } from '../../src/config/types.js'

/** An `apis[]` entry with the config defaults, for tests that build route tables without the config loader. */
export const apiRoute = (path: string, target: string | URL = 'http://127.0.0.1:9', extra: Partial<ApiRoute> = {}): ApiRoute => ({
  path,
  target: new URL(target),
  token: 'user',
  timeoutMs: 30_000,
  anonymous: false,
  websocket: false,
  websocketMaxLifetimeSeconds: 3600,
  passSetCookie: false,
  ...extra,
})
