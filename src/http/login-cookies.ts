import { createHash } from 'node:crypto'
import type { Request, Response } from 'express'
import { LOGIN_TRANSACTION_TTL_MS } from '../session/login-transactions.js'

/**
 * The login-state cookies: one per pending login, named `<loginCookieName>.<hash of its state>` so that two tabs
 * logging in at once each keep their own, and holding that login's sealed transaction. HttpOnly and SameSite=Lax:
 * they must survive the provider's top-level redirect back, which a Strict cookie would not. Path=/ because the
 * `__Host-` prefix requires it (RFC 6265bis §4.1.3.2).
 */
export interface LoginCookieOptions {
  name: string
  secure: boolean
}

/** A browser holds at most this many pending logins; starting another drops the oldest (its tab must start again). */
export const maxPendingLogins = 3

export interface PendingLoginCookie {
  name: string
  value: string
  /** epoch ms, as written in the value's clear prefix; 0 when unreadable (oldest first) */
  createdAt: number
}

const stateHash = (state: string) => createHash('sha256').update(state).digest('base64url').slice(0, 16)

export const loginCookieName = (base: string, state: string) => `${base}.${stateHash(state)}`

/**
 * This request's login cookies, oldest first: `<base>.<hash>`, and a bare `<base>` (the per-browser binding
 * cookie of earlier versions), which is only ever cleared.
 */
export function pendingLoginCookies(req: Request, base: string): PendingLoginCookie[] {
  const found: PendingLoginCookie[] = []
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=')
    const name = part.slice(0, eq).trim()
    if (eq <= 0 || (name !== base && !name.startsWith(`${base}.`))) continue
    const value = part.slice(eq + 1).trim()
    const createdAt = name === base ? 0 : parseInt(value.slice(0, value.indexOf('.')), 36)
    found.push({ name, value, createdAt: Number.isFinite(createdAt) ? createdAt : 0 })
  }
  return found.sort((a, b) => a.createdAt - b.createdAt)
}

/** The sealed transaction the request carries for `state`, if any. */
export function readLoginCookie(req: Request, base: string, state: string): string | undefined {
  const name = loginCookieName(base, state)
  const value = pendingLoginCookies(req, base).find((c) => c.name === name)?.value
  return value?.slice(value.indexOf('.') + 1)
}

/**
 * Sets the cookie of a new login and clears the oldest pending ones beyond the bound, so a client that sends
 * its cookies back holds a few kilobytes at most, and one that does not makes the broker hold nothing.
 */
export function setLoginCookie(req: Request, res: Response, opts: LoginCookieOptions, tx: { state: string; sealed: string; createdAt: number }) {
  const pending = pendingLoginCookies(req, opts.name)
  clearLoginCookies(res, opts, pending.slice(0, Math.max(0, pending.length - maxPendingLogins + 1)).map((c) => c.name))
  // the creation time in clear ahead of the sealed value only orders eviction; the sealed copy is the one trusted
  res.cookie(loginCookieName(opts.name, tx.state), `${tx.createdAt.toString(36)}.${tx.sealed}`, {
    ...attributes(opts),
    maxAge: LOGIN_TRANSACTION_TTL_MS,
  })
}

export function clearLoginCookies(res: Response, opts: LoginCookieOptions, names: readonly string[]) {
  for (const name of names) res.clearCookie(name, attributes(opts))
}

const attributes = (opts: LoginCookieOptions) =>
  ({ httpOnly: true, secure: opts.secure, sameSite: 'lax', path: '/' }) as const
