import type { RequestHandler } from 'express'
import type { KeyValueStore } from '../session/store.js'
import type { OAuthProvider } from '../oauth/provider.js'
import type { Metrics } from './metrics.js'

export const healthz: RequestHandler = (_req, res) => {
  res.set('Cache-Control', 'no-store').json({ status: 'ok' })
}

/** 200 when Redis answers and provider metadata is loaded, else 503 naming what is missing. */
export function createReadyz(deps: { store: KeyValueStore; provider: OAuthProvider }): RequestHandler {
  return async (_req, res) => {
    const redis = await Promise.race([
      deps.store.ping().then(() => true, () => false),
      new Promise<boolean>((resolve) => setTimeout(resolve, 1000, false).unref()),
    ])
    const provider = deps.provider.isReady()
    res
      .status(redis && provider ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json({ status: redis && provider ? 'ready' : 'not_ready', redis, provider })
  }
}

export function createMetricsRoute(metrics: Metrics): RequestHandler {
  return async (_req, res) => {
    res.set('Content-Type', metrics.registry.contentType).send(await metrics.registry.metrics())
  }
}
