import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'

/** Debian's chromium; tests never download a browser (.ci/run installs the package when it is missing). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

// Without the background-networking flags Chromium keeps calling Google's services, which a closed network
// refuses, many at a time; --no-sandbox because CI and these machines run the tests as root.
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM_PATH)
}

/**
 * Headless Chromium. Playwright gives every launch a fresh, empty --user-data-dir of its own (removed on close),
 * and every `browser.newContext()` its own cookies and storage, as a second browser profile would have.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ARGS, timeout: 30_000 })
}
