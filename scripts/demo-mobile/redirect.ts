import { createServer, type Server } from 'node:http'

// How the demo app gets the browser's redirect back: a loopback HTTP server on the registered redirect URI
// (RFC 8252 §7.3, §8.3: 127.0.0.1, not "localhost", so no resolver or other interface is involved), or a URL
// pasted by a human when the browser runs where that listener cannot be reached.

export interface RedirectCatcher {
  /** the first request on the redirect URI's path: the full URL the browser was sent to */
  redirect: Promise<string>
  /** false when the port could not be taken (then only a pasted URL works) */
  listening: boolean
  close(): Promise<void>
}

const DONE_PAGE = '<!doctype html><meta charset="utf-8"><title>Signed in</title>' +
  '<p>Signed in. You can close this tab and go back to the terminal.</p>'

export async function catchRedirect(redirectUri: string): Promise<RedirectCatcher> {
  const target = new URL(redirectUri)
  let resolve!: (url: string) => void
  const redirect = new Promise<string>((r) => (resolve = r))
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', target.origin)
    if (req.method !== 'GET' || url.pathname !== target.pathname) return void res.writeHead(404).end()
    // the URL holds the one-time code: no referrer, no caching
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'referrer-policy': 'no-referrer', 'cache-control': 'no-store' })
    res.end(DONE_PAGE)
    resolve(url.href)
  })
  const listening = await new Promise<boolean>((done) => {
    server.once('error', () => done(false))
    server.listen(Number(target.port), target.hostname.replace(/^\[|\]$/g, ''), () => done(true))
  })
  return {
    redirect,
    listening,
    close: () =>
      new Promise<void>((done) => {
        if (!listening) return done()
        server.close(() => done())
        server.closeAllConnections()
      }),
  }
}

/** The first pasted line that is a URL back to the app (it carries `code` or `error`); never settles otherwise. */
export async function pastedRedirect(lines: AsyncIterable<string>, redirectUri: string): Promise<string> {
  const target = new URL(redirectUri)
  for await (const line of lines) {
    const text = line.trim()
    if (!URL.canParse(text)) continue
    const url = new URL(text)
    if (url.origin + url.pathname !== target.origin + target.pathname) continue
    if (url.searchParams.has('code') || url.searchParams.has('error')) return url.href
  }
  return new Promise<string>(() => undefined)
}
