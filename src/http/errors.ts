import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { ErrorRequestHandler } from 'express'
import type { Logger } from '../observability/logger.js'
import { LogEvents, type LogEvent } from '../observability/log-events.js'
import { defaultMessages, storeUnavailable, toBffError, type BffError } from '../errors.js'
import { errorPage, errorPageCsp } from './error-page.js'
import { rejectReasonOf, type Metrics } from '../observability/metrics.js'

/** A browser navigation (HTML wanted) gets a plain page; XHR/fetch and API routes get JSON. */
export function wantsHtml(req: IncomingMessage): boolean {
  if (req.headers['sec-fetch-mode'] === 'navigate') return true
  return (req.headers.accept ?? '').includes('text/html')
}

/**
 * How loud a refusal is in the log. Routine answers are not warnings: every anonymous page load probes /bff/user
 * (401 unauthorized) and browsers ask for /favicon.ico (404), so at warn they would drown what an operator must see.
 * A session that ended (session_expired) is normal life, worth an info line. Everything else a correct front end,
 * app or job never causes: a missing CSRF header (a broken client or a cross-site attempt), a malformed request or a
 * hostile path, a failed login, spent rate limits, bad DPoP proofs or client credentials, a job outside its routes;
 * those stay at warn. Server-side failures (5xx, never exposed) are errors.
 */
export function logLevelOf(error: BffError): 'debug' | 'info' | 'warn' | 'error' {
  if (!error.expose) return 'error'
  if (error.code === 'unauthorized' || error.code === 'not_found') return 'debug'
  if (error.code === 'session_expired') return 'info'
  return 'warn'
}

export interface ErrorWriterOptions {
  logger: Logger
  sessionCookieName: string
  cookieSecure: boolean
  /** a Redis timeout or dropped connection, wherever it came from: 503, never a 500 */
  isStoreError?: (err: unknown) => boolean
  /** counts refusals by reason (bff_requests_rejected_total) */
  metrics?: Pick<Metrics, 'requestsRejected'>
}

/** Counts a refusal of the caller; server failures and 404s are not rejections (bff_http_requests_total has them). */
export function countRejection(metrics: Pick<Metrics, 'requestsRejected'> | undefined, error: BffError) {
  const reason = rejectReasonOf(error.code)
  if (reason && metrics) metrics.requestsRejected.inc({ reason })
}

/** What a route knows about its failure beyond the error: the event to log it under and a few safe fields. */
export interface FailureNote {
  event: LogEvent
  [field: string]: unknown
}

const notes = new WeakMap<IncomingMessage, FailureNote>()

/**
 * Names the failure the request is about to throw (login.failed, proxy.upstream_error …), so the one writer logs one
 * line with it instead of the route logging a line of its own and the writer a second.
 */
export function noteFailure(req: IncomingMessage, note: FailureNote): void {
  notes.set(req, note)
}

function failureOf(err: unknown, opts: Pick<ErrorWriterOptions, 'isStoreError'>): BffError {
  return toBffError(opts.isStoreError?.(err) ? storeUnavailable({ cause: err }) : err)
}

function logFailure(req: IncomingMessage, error: BffError, logger: Logger) {
  logger[logLevelOf(error)](
    {
      event: LogEvents.requestFailed,
      error: error.code,
      status: error.status,
      detail: error.detail,
      err: error.cause instanceof Error ? { name: error.cause.name, message: error.cause.message } : undefined,
      method: req.method,
      path: (req.url ?? '').split('?')[0],
      ...notes.get(req),
    },
    error.code,
  )
}

/**
 * Logs a failure (once) and writes its answer with node's own API, so the express error handler and the API entry
 * (which runs without express) answer alike: `{error, message}` JSON or a plain page, no stack, no detail.
 */
export function writeError(req: IncomingMessage, res: ServerResponse, err: unknown, html: boolean, opts: ErrorWriterOptions) {
  const error = failureOf(err, opts)
  logFailure(req, error, opts.logger)
  countRejection(opts.metrics, error)
  if (res.headersSent) {
    res.destroy()
    return
  }
  const message = messageOf(error)
  res.statusCode = error.status
  res.setHeader('Cache-Control', 'no-store')
  if (error.status === 401) res.setHeader('WWW-Authenticate', error.wwwAuthenticate ?? 'Cookie realm="bff"')
  if (error.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(error.retryAfterSeconds))
  if (error.code === 'session_expired') {
    const secure = opts.cookieSecure ? '; Secure' : ''
    res.appendHeader('Set-Cookie', `${opts.sessionCookieName}=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly${secure}`)
  }
  if (html) res.setHeader('Content-Security-Policy', errorPageCsp(res.getHeader('Content-Security-Policy')))
  const body = html ? errorPage(error, message) : JSON.stringify({ error: error.code, message })
  res.setHeader('Content-Type', html ? 'text/html; charset=utf-8' : 'application/json; charset=utf-8')
  res.setHeader('Content-Length', Buffer.byteLength(body))
  res.end(body)
}

const messageOf = (error: BffError) => (error.expose || error.status >= 500 ? error.message : defaultMessages[error.code])

/**
 * The answer to a refused WebSocket upgrade, written on the raw socket (there is no response object yet): the same
 * log line and `{error, message}` body as writeError, with the handshake's own headers.
 */
export function writeUpgradeRefusal(
  req: IncomingMessage,
  socket: Duplex,
  err: unknown,
  opts: Pick<ErrorWriterOptions, 'logger' | 'isStoreError' | 'metrics'>,
) {
  const error = failureOf(err, opts)
  logFailure(req, error, opts.logger)
  countRejection(opts.metrics, error)
  if (socket.destroyed) return
  const body = JSON.stringify({ error: error.code, message: messageOf(error) })
  const challenge = error.status === 401 ? `WWW-Authenticate: ${error.wwwAuthenticate ?? 'Cookie realm="bff"'}\r\n` : ''
  const retry = error.retryAfterSeconds === undefined ? '' : `Retry-After: ${error.retryAfterSeconds}\r\n`
  socket.end(
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\r\n` +
      `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${challenge}${retry}` +
      `Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`,
  )
}

/** The one error handler (docs/architecture.md "Errors"). Clears the session cookie on session_expired. */
export function createErrorHandler(
  deps: ErrorWriterOptions & {
    /** routes whose errors are always JSON (API prefixes, /bff/user …) */
    isApiPath: (path: string) => boolean
  },
): ErrorRequestHandler {
  return (err, req, res, _next) => writeError(req, res, err, !deps.isApiPath(req.path) && wantsHtml(req), deps)
}
