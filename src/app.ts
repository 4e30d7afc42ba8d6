import express, { type Express, type RequestHandler } from 'express'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Config } from './config/types.js'
import type { OAuthProvider } from './oauth/provider.js'
import type { KeyValueStore } from './session/store.js'
import { isStoreUnavailableError, type RedisClient } from './session/redis-store.js'
import { createKeyRing } from './session/keyring.js'
import { createGrantStore } from './session/grant-store.js'
import { createLoginTransactions } from './session/login-transactions.js'
import { createSessionIndex } from './session/session-index.js'
import { createHttpSession } from './session/http-session.js'
import { createSessionWatch, type SessionWatch } from './session/session-watch.js'
import type { Logger } from './observability/logger.js'
import { createMetrics, type Metrics } from './observability/metrics.js'
import { createMetricsRoute, createReadyz, healthz } from './observability/health.js'
import { notFound } from './errors.js'
import { createErrorHandler } from './http/errors.js'
import { createSecurityHeaders } from './http/security-headers.js'
import { createRequestContext, createRequestTracker } from './http/middleware/request-context.js'
import { createRequireCsrfHeader } from './http/middleware/csrf.js'
import { requireLoadedSession } from './http/middleware/require-session.js'
import { createStoreGuard } from './http/middleware/store-guard.js'
import { authenticated, createAuthenticator } from './http/authenticate.js'
import { createOfflineGrants } from './session/offline-grants.js'
import { createSessionAdmin } from './http/session-admin.js'
import { createJobCalls } from './jobs/job-calls.js'
import { createSelfServiceRoutes } from './http/routes/sessions.js'
import { createAdminRoutes } from './http/routes/admin.js'
import { createDpopVerifier } from './mobile/dpop.js'
import { createDpopReplayCheck } from './mobile/dpop-replay.js'
import { createHandoffCodes } from './mobile/handoff.js'
import { createMobileAuthorizeRoute } from './http/routes/mobile/authorize.js'
import { createMobileTokenRoute } from './http/routes/mobile/token.js'
import { createMobileLogoutRoute } from './http/routes/mobile/logout.js'
import { createMobileLoginFinisher } from './http/routes/mobile/finish-login.js'
import type { SessionTimeouts } from './session/session.js'
import { createBodyDeadline } from './http/middleware/body-deadline.js'
import { createSessionLifecycle } from './http/session-lifecycle.js'
import { createLoginRoute, loginLimits } from './http/routes/login.js'
import { createRateLimiter } from './http/rate-limit.js'
import { createCallbackRoute } from './http/routes/callback.js'
import { createPasswordLoginRoute, passwordBodyLimit, scrubBodyErrors } from './http/routes/password-login.js'
import { createSessionInfoRoute } from './http/routes/session-info.js'
import { createLogoutRoute } from './http/routes/logout.js'
import { createBackchannelLogoutRoute } from './http/routes/backchannel-logout.js'
import { createFrontchannelLogoutRoute } from './http/routes/frontchannel-logout.js'
import { createTokenManager } from './tokens/token-manager.js'
import { createClientCredentials } from './tokens/client-credentials.js'
import { systemClock, type Clock } from './tokens/clock.js'
import { createRouteTable } from './proxy/upstreams.js'
import { createApiProxy } from './proxy/api-proxy.js'
import { createApiRoutes } from './http/routes/api.js'
import { createJobTokenErrors, createJobTokenRoute, jobTokenBodyLimit } from './http/routes/job-token.js'
import { createJobClients } from './jobs/job-clients.js'
import { reservedPaths } from './config/rules.js'
import { createFrontend } from './frontend/frontend.js'
import { createJobTokens } from './jobs/job-tokens.js'
import { redisKeys } from './session/keys.js'
import { activeTracer, createServerSpans } from './observability/spans.js'

/** the first path segment under basePath of every route the broker serves (the `route` label of its metrics) */
const brokerRouteNames = new Set([
  'login', 'callback', 'user', 'logout', 'backchannel-logout', 'jobs', 'mobile', 'sessions', 'grants', 'admin',
  'frontchannel-logout',
])

export interface AppDeps {
  config: Config
  store: KeyValueStore
  /** the ioredis client behind `store`, for express-session; undefined only in the demo (in-memory sessions) */
  redis: RedisClient | undefined
  provider: OAuthProvider
  logger: Logger
  metrics?: Metrics
  clock?: Clock
  /** extra routes mounted after the broker's own and before the API proxy and the 404 (the demo page) */
  extraRoutes?: (app: Express) => void
}

export interface BrokerApp {
  app: Express
  /** the request listener: the API fast path, then express */
  handle(req: IncomingMessage, res: ServerResponse): void
  metrics: Metrics
  /** attach to the HTTP server's 'upgrade' event (WebSocket API routes) */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void
  /** open WebSocket tunnels and their sessions (tests run a check without waiting for the timer) */
  sessionWatch: SessionWatch
  close(): Promise<void>
}

/** The composition root: the only place that shows the middleware order. Does not listen. */
export function createApp(deps: AppDeps): BrokerApp {
  const { config, store, provider, logger } = deps
  const clock = deps.clock ?? systemClock
  const now = () => clock.now()
  const metrics = deps.metrics ?? createMetrics({ processMetrics: true })
  metrics.observeStore(() => store.isAvailable())
  const prefix = config.redis.keyPrefix
  const base = config.basePath
  const redirectUri = new URL(`${base}/callback`, config.publicUrl).href
  const keyRing = createKeyRing(config.tokens.encryptionKeys)
  const grants = createGrantStore({ store, keyRing, prefix })
  const transactions = createLoginTransactions({ store, keyRing, prefix, now })
  const limiter = createRateLimiter({ store, prefix, now })
  const loginLimit = loginLimits(config.session.loginRateLimitPerMinute)
  const index = createSessionIndex({ store, prefix })
  const timeouts: SessionTimeouts = { browser: config.session, mobile: config.mobile }
  const httpSession = createHttpSession({ config: config.session, mobile: config.mobile, redis: deps.redis, prefix, now, replicaAck: config.redis.replicaAck })
  const sessionWatch = createSessionWatch({
    sessions: httpSession, clock, logger, intervalMs: config.session.websocketCheckSeconds * 1000,
  })
  const offlineGrantIdleMs = config.jobs.offlineGrantIdleSeconds * 1000
  const offlineGrants = createOfflineGrants({ store, prefix, idleMs: offlineGrantIdleMs, now, grantKey: grants.key })
  const sessions = createSessionLifecycle({
    provider, grants, index, httpSession, logger, now, offlineGrants, offlineGrantIdleMs, metrics,
    watch: sessionWatch,
    subjectClaim: config.provider.subjectClaim,
    fetchUserinfo: config.provider.fetchUserinfo,
    timeouts,
  })
  const sessionAdmin = createSessionAdmin({
    provider, grants, index, httpSession, offlineGrants, sessions, store, timeouts, logger, now,
    sessionKey: redisKeys(prefix).session,
  })
  const tokenManager = createTokenManager({
    grants, store, provider, clock, prefix, logger, metrics, offlineGrantIdleMs,
    refreshSkewSeconds: config.tokens.refreshSkewSeconds,
    grantTtlMs: config.session.absoluteTimeoutSeconds * 1000,
    providerTimeoutMs: config.provider.timeoutMs,
    isStoreError: isStoreUnavailableError,
  })
  const clientCredentials = createClientCredentials({
    store, keyRing, provider, clock, prefix, logger, metrics,
    refreshSkewSeconds: config.tokens.refreshSkewSeconds,
    providerTimeoutMs: config.provider.timeoutMs,
  })
  const jobClients = createJobClients(config.jobs.clients)
  const jobTokens = createJobTokens({ store, prefix, clients: jobClients, tokenTtlSeconds: config.jobs.tokenTtlSeconds, now })
  const jobCalls = createJobCalls({ offlineGrants, grants, tokenManager, clientCredentials, admin: sessionAdmin, logger })
  const routeTable = createRouteTable(config.apis, { brokerBasePath: config.basePath })
  const proxy = createApiProxy({
    logger,
    trustProxy: config.trustProxy,
    sessionCookieName: config.session.cookieName,
    reservedCookieNames: [config.session.loginCookieName],
    csrfHeader: 'x-csrf',
    publicUrl: config.publicUrl,
  })
  const loginCookie = { name: config.session.loginCookieName, secure: config.session.secure }
  const sessionCookie = { name: config.session.cookieName, secure: config.session.secure, sameSite: config.session.sameSite }

  const storeGuard = createStoreGuard(store)
  const withSession: RequestHandler[] = [storeGuard, httpSession.middleware, requireLoadedSession]
  const securityHeaders = createSecurityHeaders({ https: config.publicUrl.protocol === 'https:' })
  const track = createRequestTracker({ logger, metrics })
  const errors = {
    logger, sessionCookieName: config.session.cookieName, cookieSecure: config.session.secure, metrics,
    isStoreError: isStoreUnavailableError,
  }
  const dpop = createDpopVerifier({ publicUrl: config.publicUrl, clock: now, replay: createDpopReplayCheck({ store, prefix }) })
  const auth = createAuthenticator({ httpSession, grants, store, timeouts, now, publicUrl: config.publicUrl, dpop, jobs: jobTokens, sessions })
  const requireCsrfHeader = createRequireCsrfHeader(config.publicUrl)
  const frontend = config.frontend && createFrontend({
    config: config.frontend, publicUrl: config.publicUrl, basePath: base, brokerPaths: reservedPaths, proxy,
  })
  const api = createApiRoutes({
    routeTable, proxy, auth, tokenManager, clientCredentials, sessions, securityHeaders, track, errors, sessionWatch, jobCalls,
    otherUpgrade: frontend?.upgrade,
  })

  const isApiPath = (path: string) =>
    path === `${base}/user` || path.startsWith(`${base}/login/`) || path === `${base}/backchannel-logout` ||
    path.startsWith(`${base}/jobs/`) || path === `${base}/mobile/token` || path === `${base}/mobile/logout` ||
    path.startsWith(`${base}/sessions`) || path.startsWith(`${base}/grants/`) || path.startsWith(`${base}/admin/`) ||
    config.apis.some((a) => path === a.path || path.startsWith(`${a.path}/`))
  // metric labels are a closed set: a route of the broker's own, an apis[].path, or `other` (any client can send any
  // path, and every distinct label value is a new time series kept for the life of the process)
  const routeOf = (path: string) => {
    if (path.startsWith(`${base}/`)) {
      const name = path.slice(base.length + 1).split('/')[0] ?? ''
      return brokerRouteNames.has(name) ? name : 'other'
    }
    if (path === '/healthz' || path === '/readyz' || path === '/metrics') return path.slice(1)
    return config.apis.find((a) => path === a.path || path.startsWith(`${a.path}/`))?.path ?? 'other'
  }

  const errorHandler = createErrorHandler({ ...errors, isApiPath })
  // a broker route's body arrives within limits.bodyTimeoutSeconds (API uploads have the proxy's idle timeout)
  const bodyDeadline = createBodyDeadline({ timeoutMs: config.limits.bodyTimeoutSeconds * 1000, errorHandler })

  const app = express()
  app.disable('x-powered-by')
  app.set('trust proxy', config.trustProxy)
  app.set('query parser', 'simple')
  app.use(createRequestContext({ track, routeOf }))
  app.use(securityHeaders.middleware)
  app.use((req, res, next) => (req.path.startsWith(`${base}/`) ? bodyDeadline(req, res, next) : next()))
  app.get('/healthz', healthz)
  app.get('/readyz', createReadyz({ store, provider }))
  // with metrics.port, /metrics lives on its own listener (server.ts) and is a 404 here
  if (config.metrics.port === undefined) app.get('/metrics', createMetricsRoute(metrics))
  app.post(
    `${base}/backchannel-logout`,
    storeGuard,
    express.urlencoded({ extended: false, limit: '64kb' }),
    createBackchannelLogoutRoute({ provider, index, httpSession, sessions, store, prefix, logger, now }),
  )
  // OpenID Connect Front-Channel Logout 1.0: an OIDC provider's (discovery) logout page frames it, else 404
  const issuer = config.provider.issuer
  if (issuer) {
    const frameAncestors = [...new Set([issuer.origin, config.provider.endSessionEndpoint?.origin ?? issuer.origin])]
    app.get(`${base}/frontchannel-logout`, storeGuard, createFrontchannelLogoutRoute({ issuer, frameAncestors, index, httpSession, sessions, logger }))
  }
  const loginDeps = {
    provider, transactions, logger, redirectUri, loginCookie, now, limiter,
    loginLimit: loginLimit.login,
    trustProxy: config.trustProxy,
    publicUrl: config.publicUrl,
    allowedReturnOrigins: config.allowedReturnOrigins,
    openid: config.provider.scopes.includes('openid'),
  }
  app.get(`${base}/login`, storeGuard, createLoginRoute(loginDeps))
  // mobile apps with a back end: only when some are configured, else 404
  const mobileApps = config.mobile.apps
  const handoffs = createHandoffCodes({ store, keyRing, prefix })
  if (mobileApps.length > 0) {
    app.get(`${base}/mobile/authorize`, storeGuard, createMobileAuthorizeRoute({ ...loginDeps, apps: mobileApps }))
    app.post(
      `${base}/mobile/token`,
      storeGuard,
      express.urlencoded({ extended: false, limit: '8kb' }),
      createMobileTokenRoute({ apps: mobileApps, handoffs, dpop, httpSession, sessions, timeouts, logger, now }),
    )
    app.post(
      `${base}/mobile/logout`,
      authenticated(auth, { guard: 'csrf-header', require: true }),
      createMobileLogoutRoute({ sessions, logger, sessionCookie }),
    )
  }
  const finishMobile = mobileApps.length > 0
    ? createMobileLoginFinisher({ sessions, handoffs, publicUrl: config.publicUrl, handoffTtlSeconds: config.mobile.handoffTtlSeconds, logger, metrics, now })
    : undefined
  app.get(
    `${base}/callback`,
    ...withSession,
    createCallbackRoute({ provider, transactions, sessions, logger, metrics, redirectUri, loginCookie, publicUrl: config.publicUrl, basePath: base,
      limiter, callbackLimit: loginLimit.callback, trustProxy: config.trustProxy, finishMobile }),
  )
  // the legacy password grant (RFC 9700 §2.4): the route exists only when the operator turned it on, else 404
  if (config.provider.passwordGrant) {
    app.post(
      `${base}/login/password`,
      ...withSession,
      requireCsrfHeader,
      express.json({ limit: passwordBodyLimit }),
      express.urlencoded({ extended: false, limit: passwordBodyLimit }),
      scrubBodyErrors,
      createPasswordLoginRoute({
        provider, sessions, store, prefix, logger, metrics, now, basePath: base, timeouts,
        trustProxy: config.trustProxy,
      }),
    )
  }
  // job clients (client credentials with HTTP Basic, RFC 6749 §4.4): only when some are configured, else 404
  if (config.jobs.clients.length > 0) {
    app.post(
      `${base}/jobs/token`,
      storeGuard,
      express.urlencoded({ extended: false, limit: jobTokenBodyLimit }),
      createJobTokenRoute({ clients: jobClients, tokens: jobTokens, store, prefix, limits: config.jobs.authFailureLimits, logger, now }),
      createJobTokenErrors({ logger, isStoreError: isStoreUnavailableError, metrics }),
    )
  }
  app.get(
    `${base}/user`,
    authenticated(auth, { guard: 'csrf-header', require: true }),
    createSessionInfoRoute({ basePath: base, timeouts, now }),
  )
  // session administration: self-service (cookie + CSRF header, or a mobile handle), and for admin job clients
  const signedIn = authenticated(auth, { guard: 'csrf-header', require: true })
  const selfService = createSelfServiceRoutes({ admin: sessionAdmin, sessionCookie, logger })
  app.get(`${base}/sessions`, signedIn, selfService.list)
  app.delete(`${base}/sessions/:id`, signedIn, selfService.endSession)
  app.delete(`${base}/grants/:id`, signedIn, selfService.revokeGrant)
  const asJob = authenticated(auth, { guard: 'none', require: false })
  const adminApi = createAdminRoutes({ admin: sessionAdmin, logger })
  app.get(`${base}/admin/users/:sub/sessions`, asJob, adminApi.guard, adminApi.listUser)
  app.delete(`${base}/admin/users/:sub/sessions`, asJob, adminApi.guard, adminApi.endUser)
  app.delete(`${base}/admin/sessions/:id`, asJob, adminApi.guard, adminApi.endSession)
  app.get(
    `${base}/logout`,
    ...withSession,
    createLogoutRoute({
      provider, sessions, logger, sessionCookie, loginCookie,
      publicUrl: config.publicUrl,
      allowedReturnOrigins: config.allowedReturnOrigins,
      logoutIdTokenHint: config.provider.logoutIdTokenHint,
    }),
  )
  deps.extraRoutes?.(app)
  // the SPA (frontend.static or .target) takes what the broker and the APIs left, so their routes always win
  if (frontend) app.use(frontend.handler)
  app.use((_req, _res, next) => next(notFound()))
  // a Redis timeout or dropped connection anywhere in a request is a 503 (errors.isStoreError), never a 500 or an anonymous 401
  app.use(errorHandler)

  // API routes skip express on the hot path, whatever trustProxy says (proxy/headers.ts reads X-Forwarded-For
  // with express's own proxy-addr rules)
  const serve = (req: IncomingMessage, res: ServerResponse) => {
    if (!api.handle(req, res)) app(req, res)
  }
  // with tracing on, each request runs in its server span (observability/spans.ts); off, nothing is added
  const tracer = activeTracer()
  const traced = tracer && createServerSpans(tracer)
  return {
    app,
    metrics,
    handle: traced ? (req, res) => traced(req, res, () => serve(req, res)) : serve,
    handleUpgrade: api.handleUpgrade,
    sessionWatch,
    async close() {
      sessionWatch.stop()
      await proxy.close()
    },
  }
}
