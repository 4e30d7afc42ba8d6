import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino'
import { stdoutDestination } from './log-destination.js'

export type Logger = PinoLogger

/**
 * Field names that may hold a secret, at any depth of a logged object: a token can never reach a log line even
 * when a caller passes a whole object by mistake (docs/architecture.md invariant 1). Matched case-insensitively.
 */
const secretFields = new Set([
  'access_token', 'accesstoken', 'access-token', 'x-access-token', 'refresh_token', 'refreshtoken', 'refresh-token',
  'id_token', 'idtoken', 'id-token', 'subject_token', 'actor_token', 'token', 'jobtoken', 'job_token', 'client_assertion',
  'code_verifier', 'codeverifier', 'client_secret', 'clientsecret', 'secret', 'password',
  'authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'dpop', 'handle', 'logout_token', 'assertion',
])
/** `code` is an authorization code only at the top of a log call; nested (`err.code`) it is an error code, kept. */
const topLevelSecretFields = new Set(['code'])
export const redactedCensor = '[redacted]'
const errSerializer = pino.stdSerializers.err
/** deeper than any object the broker logs; beyond it values are left to pino's cycle-safe serialiser */
const maxDepth = 8

function isSecretField(key: string, depth: number): boolean {
  const lower = key.toLowerCase()
  return secretFields.has(lower) || (depth === 0 && topLevelSecretFields.has(lower))
}

/**
 * The object with every secret field replaced by `[redacted]`, copied only where something changes (the usual log
 * call, which holds no secret, allocates nothing). Values serialised by their own `toJSON` (dates, buffers, URLs)
 * and typed arrays are passed through as they are.
 */
function scrub(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object' || depth > maxDepth) return value
  // an error becomes its serialised form (type, message, stack, its own fields, its cause), scrubbed like the rest
  if (value instanceof Error) return scrub(errSerializer(value), depth)
  if (ArrayBuffer.isView(value) || typeof (value as { toJSON?: unknown }).toJSON === 'function') return value
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i]
      const next = scrub(item, depth + 1)
      if (next !== item) (copy ??= value.slice())[i] = next
    }
    return copy ?? value
  }
  const record = value as Record<string, unknown>
  let copy: Record<string, unknown> | undefined
  for (const key of Object.keys(record)) {
    const item = record[key]
    const next = item !== undefined && isSecretField(key, depth) ? redactedCensor : scrub(item, depth + 1)
    if (next !== item) (copy ??= { ...record })[key] = next
  }
  return copy ?? value
}

/** A log object without secrets (exported for its tests; the logger applies it to every line and every binding). */
export function redactSecrets<T extends Record<string, unknown>>(obj: T): T {
  return scrub(obj, 0) as T
}

let stampedAt = Number.NaN
let stamp = ''
/**
 * pino's isoTime, formatted once per millisecond: under load a millisecond holds many lines (a job call writes one
 * each), and `toISOString` per line was a tenth of a line's cost.
 */
export function isoTimeOncePerMs(): string {
  const now = Date.now()
  if (now !== stampedAt) {
    stampedAt = now
    stamp = `,"time":"${new Date(now).toISOString()}"`
  }
  return stamp
}

export function createLogger(opts: { level: string; destination?: DestinationStream }): Logger {
  const logger = pino(
    {
      level: opts.level,
      base: { service: 'bff-broker' },
      timestamp: isoTimeOncePerMs,
      formatters: {
        level: (label) => ({ level: label }),
        // our own redaction instead of pino's `redact` paths: it looks at every depth, and costs ~0.3 µs on a line
        // without secrets where the path-based one cost ~9 µs on every line (one audit line per job call)
        log: (obj) => redactSecrets(obj),
        bindings: (bindings) => redactSecrets(bindings),
      },
      // `log` above has already turned every error into its scrubbed, serialised form
      serializers: { err: (err: unknown) => err },
    },
    opts.destination ?? stdoutDestination(),
  )
  // pino applies `formatters.bindings` to the root's bindings only: a child's (and its children's) are scrubbed here
  const child = logger.child
  logger.child = function scrubbedChild(this: Logger, bindings, options) {
    return child.call(this, redactSecrets(bindings), options)
  } as Logger['child']
  return logger
}
