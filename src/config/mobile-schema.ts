import { z } from 'zod'

/**
 * `mobile`: apps that log in through the system browser and then hold an opaque broker handle (never a provider
 * token). Each app is a public client of the broker; redirect URIs are compared exactly (RFC 8252 §7.1, §7.2, §8.4).
 */

const loopbackHosts = new Set(['127.0.0.1', '[::1]', 'localhost'])

/** A claimed https URL, a loopback http URL, or a private-use scheme (reverse-DNS, with a dot); never a fragment. */
export const mobileRedirectUri = z.string().superRefine((value, ctx) => {
  if (!URL.canParse(value)) return ctx.addIssue({ code: 'custom', message: 'must be an absolute URI' })
  const url = new URL(value)
  if (value.includes('#')) return ctx.addIssue({ code: 'custom', message: 'must not carry a fragment (RFC 6749 §3.1.2)' })
  if (url.protocol === 'http:' && !loopbackHosts.has(url.hostname)) {
    return ctx.addIssue({ code: 'custom', message: 'http is allowed only for loopback (RFC 8252 §7.3); use https' })
  }
  if (url.protocol === 'https:' || url.protocol === 'http:') return
  // RFC 8252 §7.1: a private-use scheme is a reverse domain name the app controls, e.g. com.example.app
  if (!/^[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+:$/.test(url.protocol)) {
    ctx.addIssue({ code: 'custom', message: 'a custom scheme must be a reverse domain name such as com.example.app:/cb (RFC 8252 §7.1)' })
  }
})

const mobileAppSchema = z.strictObject({
  clientId: z.string().regex(/^[\w.:-]{1,128}$/, 'must be 1-128 characters of letters, digits, _ . : -')
    .describe("the app's id at the broker (not at the provider)"),
  redirectUris: z.array(mobileRedirectUri).min(1, 'needs at least one redirect URI')
    .describe('exact redirect URIs: a claimed https URL, a loopback http URL or a reverse-DNS custom scheme'),
  dpop: z.boolean().default(true).describe('the handle is DPoP-bound (RFC 9449); false = a plain bearer handle'),
})

export const mobileSchema = z.strictObject({
  handoffTtlSeconds: z.number().int().min(5).max(600).default(60)
    .describe('lifetime of the one-time code the app redeems for its handle'),
  idleTimeoutSeconds: z.number().int().positive().default(1_209_600)
    .describe('a handle unused this long ends (default 14 days)'),
  absoluteTimeoutSeconds: z.number().int().positive().default(7_776_000)
    .describe('a handle ends this long after login, used or not (default 90 days)'),
  apps: z.array(mobileAppSchema).default([]).describe('mobile apps allowed to log in through the broker'),
}).superRefine((mobile, ctx) => {
  mobile.apps.forEach((app, i) => {
    const first = mobile.apps.findIndex((other) => other.clientId === app.clientId)
    if (first < i) ctx.addIssue({ code: 'custom', path: ['apps', i, 'clientId'], message: `duplicate of mobile.apps[${first}].clientId` })
  })
  if (mobile.idleTimeoutSeconds > mobile.absoluteTimeoutSeconds) {
    ctx.addIssue({ code: 'custom', path: ['idleTimeoutSeconds'], message: 'must not exceed mobile.absoluteTimeoutSeconds' })
  }
})

export type MobileInput = z.output<typeof mobileSchema>
