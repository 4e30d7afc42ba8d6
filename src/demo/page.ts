import { existsSync, readFileSync } from 'node:fs'
import type { Express } from 'express'

// The demo page, served by the broker itself so that it is same-origin with /bff and /api: the SPA pattern
// the broker is for. Plain files, no inline script, so a strict CSP holds.

// tsc does not copy the page into dist/: a build run as `node dist/main.js` reads it from src/ beside it
const folder = [new URL('./public/', import.meta.url), new URL('../../src/demo/public/', import.meta.url)].find((dir) =>
  existsSync(new URL('index.html', dir)),
)
const file = (name: string) => {
  if (!folder) throw new Error('the demo page (src/demo/public) is missing')
  return readFileSync(new URL(name, folder))
}

const assets: Record<string, { body: Buffer; type: string }> = {
  '/': { body: file('index.html'), type: 'text/html; charset=utf-8' },
  '/demo.js': { body: file('demo.js'), type: 'text/javascript; charset=utf-8' },
  '/demo.css': { body: file('demo.css'), type: 'text/css; charset=utf-8' },
}

/** The page's own CSP: scripts, styles and fetches from this origin only; never framed (clickjacking). */
export const DEMO_PAGE_CSP = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

/** Mounts the demo page on the broker's app (startBroker's `extraRoutes`). */
export function mountDemoPage(app: Express): void {
  for (const [path, asset] of Object.entries(assets)) {
    app.get(path, (_req, res) => {
      res
        .set('Content-Security-Policy', DEMO_PAGE_CSP)
        .set('Cache-Control', 'no-cache')
        .type(asset.type)
        .send(asset.body)
    })
  }
}
