import type { IncomingMessage } from 'node:http'
import { parse as parseQuery } from 'node:querystring'

// What the demo changes in oidc-provider's development pages: the login page names the demo users and only
// they pass, and no page loads web fonts from the internet (the demo must work offline).

export interface KoaContext {
  method: string
  path: string
  status: number
  type: string
  body: unknown
  host: string
  req: IncomingMessage & { body?: unknown }
  is(type: string): string | false | null
}
export type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>

interface DemoUser {
  password: string
  claims: Record<string, unknown> & { sub: string }
}

/** Shown on the login page: this is a demo, the passwords are not secrets. */
export const DEMO_USERS: Record<string, DemoUser | undefined> = {
  alice: { password: 'alice', claims: { sub: 'alice', name: 'Alice Liddell', email: 'alice@example.test', email_verified: true } },
  bob: { password: 'bob', claims: { sub: 'bob', name: 'Bob Builder', email: 'bob@example.test', email_verified: true } },
}

const webFonts = /@import url\(https:\/\/fonts\.googleapis\.com[^)]*\);/g
const interactionPath = /^\/interaction\/[^/]+$/

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

function page(title: string, body: string): string {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem;line-height:1.5}
button{font:inherit;padding:.5rem 1rem;margin:.25rem 0;width:100%}</style></head><body>${body}</body></html>`
}

/** Names the demo users on the login page, gives its inputs accessible names, drops the web-font import. */
export const demoLoginPage: KoaMiddleware = async (ctx, next) => {
  await next()
  if (ctx.method !== 'GET' || !interactionPath.test(ctx.path) || typeof ctx.body !== 'string') return
  ctx.body = ctx.body
    .replace(webFonts, '')
    .replace('<html >', '<html lang="en">')
    .replace(
      '<form autocomplete="off"',
      '<p id="demo-users">Demo users: <strong>alice</strong> (password alice) and <strong>bob</strong> (password bob).</p>\n<form autocomplete="off"',
    )
    .replace('placeholder="Enter any login"', 'placeholder="alice or bob" aria-label="Login"')
    .replace('placeholder="and password"', 'placeholder="password" aria-label="Password"')
}

// devInteractions accept any login and ignore the password: read the form first and refuse anyone but the demo
// users. oidc-provider then reads `req.body`, its documented fallback when an upstream parser consumed the stream.
export const checkDemoPassword: KoaMiddleware = async (ctx, next) => {
  if (ctx.method !== 'POST' || !interactionPath.test(ctx.path) || !ctx.is('application/x-www-form-urlencoded')) {
    return next()
  }
  const chunks: Buffer[] = []
  for await (const chunk of ctx.req) chunks.push(chunk as Buffer)
  const form = parseQuery(Buffer.concat(chunks).toString())
  if (form.prompt === 'login') {
    const user = DEMO_USERS[String(form.login)]
    if (!user || user.password !== form.password) {
      ctx.status = 401
      ctx.type = 'html'
      ctx.body = page(
        'Sign-in failed',
        `<h1>Sign-in failed</h1><p id="login-error" role="alert">Wrong login or password. The demo users are alice/alice and bob/bob.</p>
<p><a href="${escapeHtml(ctx.path)}">Try again</a></p>`,
      )
      return
    }
  }
  ctx.req.body = form
  return next()
}

/** features.rpInitiatedLogout.logoutSource: the "sign out of the provider too?" page, without web fonts. */
export async function logoutSource(ctx: KoaContext, form: string): Promise<void> {
  ctx.body = page(
    'Sign out',
    `<h1>Sign out of the demo identity provider?</h1>${form}
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>`,
  )
}

export async function postLogoutSuccessSource(ctx: KoaContext): Promise<void> {
  ctx.body = page('Signed out', '<h1>Signed out</h1><p>You are signed out of the demo identity provider.</p>')
}
