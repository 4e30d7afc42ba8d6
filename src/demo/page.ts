import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

// The demo page, served by the broker itself through `frontend.static`, so that it is same-origin with /bff and
// /api: the SPA pattern the broker is for. Plain files, no inline script, so the default app CSP holds.

/** src/demo/public; tsc does not copy the page into dist/, so a build run as `node dist/main.js` reads it from src/. */
export function demoPageDirectory(): string {
  const folder = [new URL('./public/', import.meta.url), new URL('../../src/demo/public/', import.meta.url)].find((dir) =>
    existsSync(new URL('index.html', dir)),
  )
  if (!folder) throw new Error('the demo page (src/demo/public) is missing')
  return fileURLToPath(folder)
}
