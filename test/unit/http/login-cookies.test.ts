import { describe, expect, it } from 'vitest'
import type { Request } from 'express'
import { loginCookieName, maxPendingLogins, pendingLoginCookies, readLoginCookie } from '../../../src/http/login-cookies.js'

const request = (cookie: string) => ({ headers: { cookie } }) as unknown as Request

describe('login-state cookies', () => {
  it('when a request carries login cookies among others, then they are listed oldest first and the legacy binding cookie counts as oldest', () => {
    const a = loginCookieName('bff-login', 'a'.repeat(43))
    const b = loginCookieName('bff-login', 'b'.repeat(43))
    const req = request(`theme=dark; ${b}=${(2000).toString(36)}.v1.x; bff-login=legacy; ${a}=${(1000).toString(36)}.v1.y; bff-loginx=z`)
    expect(pendingLoginCookies(req, 'bff-login').map((c) => c.name)).toEqual(['bff-login', a, b])
    expect(readLoginCookie(req, 'bff-login', 'a'.repeat(43))).toBe('v1.y')
    expect(readLoginCookie(req, 'bff-login', 'c'.repeat(43))).toBeUndefined()
  })

  it('when two states are named, then their cookie names differ and do not hold the state', () => {
    const a = loginCookieName('__Host-bff-login', 'a'.repeat(43))
    expect(a).toMatch(/^__Host-bff-login\.[\w-]{16}$/)
    expect(a).not.toBe(loginCookieName('__Host-bff-login', 'b'.repeat(43)))
    expect(maxPendingLogins).toBeGreaterThanOrEqual(2)
  })
})
