import { createHash } from 'node:crypto'
import type { BffError, BffErrorCode } from '../errors.js'

// The page a browser navigation gets when the broker refuses it (login, callback, logout, a mobile authorize link):
// a sentence a person understands as the heading, the machine code small underneath (what support asks for), and
// just enough CSS to read on a phone. No script, no external resource.

const headings: Record<BffErrorCode, string> = {
  unauthorized: 'You are not logged in',
  csrf_failed: 'This request was refused',
  session_expired: 'Your session has ended',
  login_failed: 'The login could not be completed',
  idp_unavailable: 'The login service is unavailable',
  upstream_unavailable: 'The service could not be reached',
  upstream_timeout: 'The service did not answer in time',
  session_store_unavailable: 'The service is briefly unavailable',
  invalid_request: 'This link or request is not valid',
  not_found: 'Page not found',
  too_many_requests: 'Too many attempts',
  server_error: 'Something went wrong',
  invalid_grant: 'This link has expired or was already used',
  invalid_dpop_proof: 'This request was refused',
  invalid_client: 'The client could not be identified',
  unsupported_grant_type: 'This request is not supported',
  forbidden: 'Access denied',
  no_offline_grant: 'No offline access was granted',
  exchange_refused: 'Access to this service was refused',
  request_timeout: 'The request took too long',
}

const style =
  'body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;background:#f6f8fa}' +
  'main{max-width:34rem;margin:12vh auto 0;padding:1.5rem;background:#fff;border:1px solid #d0d7de;border-radius:8px}' +
  'h1{font-size:1.4rem;line-height:1.3;margin:0 0 .75rem}p{margin:0 0 1rem}' +
  '.code{font:.8rem ui-monospace,monospace;color:#59636e}a{color:#0969da}' +
  '@media (max-width:36rem){main{margin:0;border:0;border-radius:0;min-height:100vh;box-sizing:border-box}}' +
  '@media (prefers-color-scheme:dark){body{background:#0d1117;color:#e6edf3}main{background:#161b22;border-color:#30363d}' +
  '.code{color:#9198a1}a{color:#4493f8}}'

/**
 * The broker's CSP is `default-src 'none'` (no inline style). The page's one `<style>` is allowed by its hash
 * (CSP Level 3 §8.4 "hash-source"), computed once from the exact text, so nothing else inline can run or style.
 */
export const errorPageStyleSource = `'sha256-${createHash('sha256').update(style).digest('base64')}'`

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/** The HTML body of an error answer; `message` is what may be shown (see writeError). */
export function errorPage(error: BffError, message: string): string {
  const heading = escapeHtml(headings[error.code] ?? 'Something went wrong')
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>${heading}</title><style>${style}</style></head>` +
    `<body><main><h1>${heading}</h1><p>${escapeHtml(message)}</p>` +
    '<p><a href="/">Back to the application</a></p>' +
    `<p class="code">Error ${error.status} · ${escapeHtml(error.code)}</p></main></body></html>`
  )
}

/** The answer's CSP with the page's style allowed: the broker's own policy (set before) plus `style-src`. */
export function errorPageCsp(current: string | number | readonly string[] | undefined): string {
  const base = typeof current === 'string' && current !== '' ? current : "default-src 'none';base-uri 'none';frame-ancestors 'none'"
  return `${base.replace(/;?\s*$/, '')};style-src ${errorPageStyleSource}`
}
