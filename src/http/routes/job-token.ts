import type { ErrorRequestHandler, Request, RequestHandler } from 'express'
import type { JobsConfig } from '../../config/types.js'
import type { KeyValueStore } from '../../session/store.js'
import type { Logger } from '../../observability/logger.js'
import { LogEvents } from '../../observability/log-events.js'
import type { Metrics } from '../../observability/metrics.js'
import { countRejection } from '../errors.js'
import { parseBasicCredentials, type BasicCredentials, type JobAuthResult, type JobClients } from '../../jobs/job-clients.js'
import type { JobTokens } from '../../jobs/job-tokens.js'
import { createRateLimiter, hashKey, type WindowLimit } from '../rate-limit.js'
import {
  defaultMessages, invalidClient, invalidRequest, storeUnavailable, toBffError, tooManyRequests, unsupportedGrantType,
} from '../../errors.js'

/** the body parser's limit on this route: `grant_type=client_credentials` and perhaps a scope */
export const jobTokenBodyLimit = '4kb'

export interface JobTokenRouteDeps {
  clients: JobClients
  tokens: JobTokens
  store: KeyValueStore
  prefix: string
  limits: JobsConfig['authFailureLimits']
  logger: Logger
  now: () => number
}

/**
 * POST /bff/jobs/token: the client credentials grant (RFC 6749 §4.4) for job clients, authenticated with HTTP Basic
 * (§2.3.1). Answers a short-lived opaque job token. Only failed authentications count, per claimed client id and
 * per address; once either count reaches its limit every attempt is refused with 429 until the window ends, the
 * right secret too, so guessing stays useless however the attempts are spread. No CSRF header: nothing ambient
 * (no cookie) authenticates here.
 */
export function createJobTokenRoute(deps: JobTokenRouteDeps): RequestHandler {
  const limiter = createRateLimiter({ store: deps.store, prefix: deps.prefix, now: deps.now })
  const windowMs = deps.limits.windowSeconds * 1000
  const byId: WindowLimit = { name: 'job-id', limit: deps.limits.perClientId, windowMs }
  const byAddress: WindowLimit = { name: 'job-ip', limit: deps.limits.perAddress, windowMs }

  return async (req, res) => {
    const address = req.ip ?? 'unknown'
    const header = req.headers.authorization
    const credentials = parseBasicCredentials(header)
    const hits = [{ limit: byAddress, key: address }, ...(credentials ? [{ limit: byId, key: credentials.clientId }] : [])]
    const audit = (reason: string) =>
      deps.logger.warn({ event: LogEvents.jobAuthFailed, reason, address, ...claimedId(deps.clients, credentials) }, 'job authentication failed')

    const before = await limiter.check(hits)
    if (before.limited) {
      audit('rate_limited')
      res.set('Retry-After', String(before.retryAfterSeconds))
      throw tooManyRequests({ detail: `job token: ${before.name} limit` })
    }
    readGrantType(req)
    checkOneAuthMethod(req, header, credentials)
    const result: JobAuthResult =
      header === undefined ? { ok: false, reason: 'no_credentials' }
        : credentials === undefined ? { ok: false, reason: 'malformed_credentials' }
          : deps.clients.verify(credentials)
    if (!result.ok) {
      audit(result.reason)
      const after = await limiter.hit(hits)
      // only when concurrent failures raced past the check above
      if (after.limited) {
        res.set('Retry-After', String(after.retryAfterSeconds))
        throw tooManyRequests({ detail: `job token: ${after.name} limit` })
      }
      throw invalidClient({ detail: `job token: ${result.reason}` })
    }
    const issued = await deps.tokens.issue(result.client.id)
    deps.logger.info({ event: LogEvents.jobTokenIssued, clientId: result.client.id, address, expiresIn: issued.expiresInSeconds }, 'job token issued')
    // RFC 6749 §5.1: token responses are not cached
    res.set('Cache-Control', 'no-store').set('Pragma', 'no-cache')
    res.json({ access_token: issued.token, token_type: 'Bearer', expires_in: issued.expiresInSeconds })
  }
}

/**
 * The claimed id goes to the log in clear only when it is a configured one: whatever else was sent (a secret pasted
 * into the id field, say) appears only as a hash, so audit lines of failures can still be grouped.
 */
function claimedId(clients: JobClients, credentials: BasicCredentials | undefined): Record<string, string> {
  if (credentials === undefined) return {}
  if (clients.byId(credentials.clientId) !== undefined) return { clientId: credentials.clientId }
  return { clientIdHash: hashKey(credentials.clientId) }
}

function readGrantType(req: Request): void {
  if (!req.is('application/x-www-form-urlencoded')) {
    throw invalidRequest({ message: 'Send the parameters as an application/x-www-form-urlencoded body.' })
  }
  const grantType = (req.body as Record<string, unknown> | undefined)?.grant_type
  if (grantType === undefined) throw invalidRequest({ message: 'grant_type is required.' })
  // RFC 6749 §3.2: request parameters must not be included more than once
  if (typeof grantType !== 'string') throw invalidRequest({ message: 'grant_type must be sent once.' })
  if (grantType !== 'client_credentials') {
    throw unsupportedGrantType({ message: 'Only grant_type=client_credentials is supported here.' })
  }
}

/**
 * RFC 6749 §2.3: a client uses one authentication method per request, so a `client_secret` in the body beside the
 * Authorization header is refused (§5.2 invalid_request: "more than one mechanism"), and so is a body `client_id`
 * naming another client than the header does (§3.2.1). Credentials in the body alone are no Basic: invalid_client.
 */
function checkOneAuthMethod(req: Request, header: string | undefined, credentials: BasicCredentials | undefined): void {
  const body = (req.body as Record<string, unknown> | undefined) ?? {}
  if (header !== undefined && body.client_secret !== undefined) {
    throw invalidRequest({ message: 'Send the client credentials once, in the Authorization header only.' })
  }
  const clientId = body.client_id
  if (clientId !== undefined && credentials !== undefined && clientId !== credentials.clientId) {
    throw invalidRequest({ message: 'client_id in the body must be the one in the Authorization header.' })
  }
}

/**
 * The error answers of this endpoint, in the OAuth shape `{error, error_description}` (RFC 6749 §5.2), with the
 * broker's `message` beside it (the same text) as on every other API route; a 401 names the Basic scheme (§5.2 invalid_client, RFC 7617 §2). Mounted right after
 * the route, so it also answers for the store guard and the body parser before it.
 */
export function createJobTokenErrors(deps: {
  logger: Logger
  isStoreError: (err: unknown) => boolean
  metrics?: Pick<Metrics, 'requestsRejected'>
}): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const error = toBffError(deps.isStoreError(err) ? storeUnavailable({ cause: err }) : err)
    countRejection(deps.metrics, error)
    const log = error.expose ? deps.logger.warn.bind(deps.logger) : deps.logger.error.bind(deps.logger)
    log({ event: LogEvents.requestFailed, error: error.code, status: error.status, detail: error.detail, method: req.method, path: req.path }, error.code)
    if (res.headersSent) return void res.destroy()
    res.status(error.status).set('Cache-Control', 'no-store').set('Pragma', 'no-cache')
    if (error.status === 401) res.set('WWW-Authenticate', 'Basic realm="bff-jobs"')
    const description = error.expose || error.status >= 500 ? error.message : defaultMessages[error.code]
    res.json({ error: error.code, error_description: description, message: description })
  }
}
