import { randomBytes } from 'node:crypto'
import { expect } from 'vitest'
import { secretHashOf } from '../../../src/jobs/job-clients.js'
import { createOpenIdClientProvider } from '../../../src/oauth/openid-client-provider.js'
import { createLogger } from '../../../src/observability/logger.js'
import type { Clock } from '../../../src/tokens/clock.js'
import { completeProviderLogin, createBrowser, type Browser } from '../../support/browser.js'
import {
  startOidcProvider, TEST_ACCOUNTS, TEST_CLIENT_ID, TEST_CLIENT_SECRET, type OidcProviderOptions, type RunningOidcProvider,
} from '../../support/oidc-provider.js'
import { distinctFreePorts, redisUrl, uniquePrefix } from '../../support/redis.js'
import { startTestBroker, testConfig, type TestBroker } from '../../support/start-app.js'
import { startUpstream, type Upstream } from '../../support/upstream.js'
import { issueJobToken } from './support.js'

/** Job clients of the offline-grant tests: one on-behalf-of job, one narrow job, one admin. */
export const jobSecrets = {
  nightly: randomBytes(32).toString('base64url'),
  narrow: randomBytes(32).toString('base64url'),
  ops: randomBytes(32).toString('base64url'),
}
export type JobId = keyof typeof jobSecrets

/** `apis` (token: user on /api/orders, token: client on /api/reports) and `jobs` config keys of these tests. */
export function offlineConfig(upstreamUrl: string, jobs: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apis: [
      { path: '/api/orders', target: `${upstreamUrl}/echo/orders`, token: 'user' },
      { path: '/api/reports', target: `${upstreamUrl}/echo/reports`, token: 'client' },
    ],
    jobs: {
      ...jobs,
      clients: [
        { id: 'nightly', secretHash: secretHashOf(jobSecrets.nightly), apis: ['/api/orders', '/api/reports'], onBehalfOf: true },
        { id: 'narrow', secretHash: secretHashOf(jobSecrets.narrow), apis: ['/api/reports'] },
        { id: 'ops', secretHash: secretHashOf(jobSecrets.ops), apis: [], admin: true },
      ],
    },
  }
}

export const jobToken = (broker: TestBroker, id: JobId): Promise<string> => issueJobToken(broker.origin, id, jobSecrets[id])

export const asJob = (broker: TestBroker, token: string, path: string, opts: { sub?: string; method?: string } = {}) =>
  fetch(`${broker.origin}${path}`, {
    method: opts.method ?? 'GET',
    headers: { authorization: `Bearer ${token}`, ...(opts.sub === undefined ? {} : { 'x-on-behalf-of': opts.sub }) },
  })

export const xhr = { xhr: true, headers: { 'x-csrf': '1' } }

/** A browser login through the broker and the provider's pages; `offline` asks for offline access (offline=1). */
export async function browserLogin(broker: TestBroker, opts: { user?: keyof typeof TEST_ACCOUNTS; offline?: boolean } = {}): Promise<Browser> {
  const browser = createBrowser()
  const user = opts.user ?? 'alice'
  const start = await browser.get(`${broker.origin}/bff/login?${opts.offline ? 'offline=1&' : ''}returnTo=/`)
  expect(start.status).toBe(302)
  const callback = await completeProviderLogin(browser, start.location!, { login: user, password: TEST_ACCOUNTS[user].password })
  const done = await browser.get(callback, { site: 'cross-site' })
  expect(done.status).toBe(302)
  return browser
}

export interface Listing {
  sessions: Array<{ id: string; kind: string; current: boolean; createdAt: number; lastUsedAt: number; userAgent: string | null; clientId: string | null }>
  grants: Array<{ id: string; kind: string; createdAt: number; lastUsedAt: number; scopes: string[] }>
}

export async function listSessions(broker: TestBroker, browser: Browser): Promise<Listing> {
  const res = await browser.get(`${broker.origin}/bff/sessions`, xhr)
  expect(res.status).toBe(200)
  return JSON.parse(res.body) as Listing
}

export const userStatus = async (broker: TestBroker, browser: Browser) => (await browser.get(`${broker.origin}/bff/user`, xhr)).status

const clientBasic = `Basic ${Buffer.from(`${TEST_CLIENT_ID}:${TEST_CLIENT_SECRET}`).toString('base64')}`

/** RFC 7009 revocation at the provider itself, as another party would revoke (not through the broker). */
export async function revokeAtProvider(idp: RunningOidcProvider, refreshToken: string): Promise<void> {
  const res = await fetch(new URL('/token/revocation', idp.issuer), {
    method: 'POST',
    headers: { authorization: clientBasic, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: refreshToken, token_type_hint: 'refresh_token' }),
  })
  expect(res.status).toBe(200)
}

/**
 * What the provider answers to a refresh with this token (RFC 6749 §6). Only for tokens expected dead: a live one
 * would be rotated here and the broker's copy replayed later.
 */
export async function providerRefresh(idp: RunningOidcProvider, refreshToken: string): Promise<{ status: number; error?: string }> {
  const res = await fetch(new URL('/token', idp.issuer), {
    method: 'POST',
    headers: { authorization: clientBasic, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
  })
  const body = (await res.json()) as { error?: string }
  return { status: res.status, error: body.error }
}

/** The broker's log lines, parsed. */
export const logLines = (broker: TestBroker) => broker.logs.map((l) => JSON.parse(l) as Record<string, unknown>)

/**
 * `count` broker instances sharing one Redis prefix, one provider and one clock, which drives their provider
 * clients too (a token's expiry is reached by advancing the clock, not by waiting).
 */
export async function startClockedInstances(opts: {
  name: string
  count: number
  clock: Clock
  idp?: OidcProviderOptions
  config?: (upstreamUrl: string) => Record<string, unknown>
}): Promise<{ brokers: TestBroker[]; idp: RunningOidcProvider; upstream: Upstream; stop(): Promise<void> }> {
  const upstream = await startUpstream()
  const ports = await distinctFreePorts(opts.count)
  const first = `http://127.0.0.1:${ports[0]}`
  const idp = await startOidcProvider({
    redirectUris: ports.map((p) => `http://127.0.0.1:${p}/bff/callback`),
    // the provider's back-channel logout goes to the first instance (the others share its Redis)
    postLogoutRedirectUris: [`${first}/`],
    backchannelLogoutUri: `${first}/bff/backchannel-logout`,
    ...opts.idp,
  })
  const prefix = uniquePrefix(opts.name)
  const config = { ...(opts.config ?? offlineConfig)(upstream.url), redis: { keyPrefix: prefix } }
  const start = (port: number) => {
    const { provider: providerConfig } = testConfig({ name: opts.name, port, issuer: idp.issuer, redisUrl: redisUrl(), config })
    const logger = createLogger({ level: 'silent' })
    const provider = createOpenIdClientProvider({ config: providerConfig, logger, allowInsecureHttp: true, now: () => opts.clock.now() })
    return startTestBroker({ name: opts.name, port, issuer: idp.issuer, clock: opts.clock, provider, config })
  }
  const brokers = await Promise.all(ports.map(start))
  return {
    brokers,
    idp,
    upstream,
    async stop() {
      await Promise.all(brokers.map((b) => b.stop()))
      await idp.stop()
      await upstream.stop()
    },
  }
}
