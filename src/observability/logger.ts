import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino'

export type Logger = PinoLogger

/**
 * Paths that may hold a secret. Pino removes them before serialising, so a token can never reach a log line
 * even when a caller passes a whole object by mistake (docs/architecture.md invariant 1).
 */
const redactPaths = [
  'access_token', '*.access_token', 'refresh_token', '*.refresh_token', 'id_token', '*.id_token',
  'accessToken', '*.accessToken', 'refreshToken', '*.refreshToken', 'idToken', '*.idToken',
  'code', 'code_verifier', '*.code_verifier', 'codeVerifier', '*.codeVerifier',
  'client_secret', '*.client_secret', 'clientSecret', '*.clientSecret', 'password', '*.password',
  'authorization', '*.authorization', 'cookie', '*.cookie', 'headers.authorization', 'headers.cookie',
  'req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]',
]

export function createLogger(opts: { level: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: opts.level,
      base: { service: 'bff-broker' },
      redact: { paths: redactPaths, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    opts.destination ?? pino.destination({ sync: false }),
  )
}
