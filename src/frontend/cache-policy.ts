import { extname, posix } from 'node:path'

// Cache-Control of the app's files (RFC 9111 §5.2.2; `immutable` is RFC 8246). A build tool puts a content hash in
// the name of every file whose content may change between releases (Vite and Rollup: `assets/index-C3ycZyKa.js`,
// 8 characters of base64url; webpack and Create React App: `main.8e3d1a2b.js`, hex), so such a file never changes
// under its name and can be kept for a year. The HTML pages that name those files must be revalidated on every
// load, or a release would not reach returning visitors. Everything else (the `public/` files a build copies as
// they are: favicon.ico, robots.txt) may change under the same name, so it is kept briefly.

export const HTML_CACHE_CONTROL = 'no-cache'
export const FINGERPRINTED_CACHE_CONTROL = 'public, max-age=31536000, immutable'
export const OTHER_CACHE_CONTROL = 'public, max-age=300'

// the hash is the last part of the name before its extension(s) (`.js`, `.js.map`), after a `-` or a `.`
const rollupHash = /[-.]([A-Za-z0-9_-]{8})(\.[A-Za-z0-9]+)+$/
const hexHash = /[-.]([0-9a-f]{8,64})(\.[A-Za-z0-9]+)+$/

/**
 * Whether a file name carries a content hash. A name mistaken for a hashed one would be cached for a year, a hash
 * missed only costs a revalidation, so the rule is strict: an 8-character Rollup hash that is not a plain lower-case
 * word (`app-settings.js` is not hashed), or a hex hash of 8 to 64 digits with at least one digit.
 */
export function isFingerprinted(fileName: string): boolean {
  const rollup = rollupHash.exec(fileName)?.[1]
  if (rollup !== undefined && !/^[a-z]+$/.test(rollup)) return true
  const hex = hexHash.exec(fileName)?.[1]
  return hex !== undefined && /[0-9]/.test(hex)
}

/** `relativePath` is the file's path under the served directory, with `/` separators. */
export function cacheControlFor(relativePath: string): string {
  const name = posix.basename(relativePath)
  if (extname(name).toLowerCase() === '.html') return HTML_CACHE_CONTROL
  return isFingerprinted(name) ? FINGERPRINTED_CACHE_CONTROL : OTHER_CACHE_CONTROL
}
