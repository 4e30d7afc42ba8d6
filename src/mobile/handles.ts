import { randomBytes } from 'node:crypto'
import { sha256b64url } from '../sha256.js'

/**
 * A mobile session handle: an opaque, revocable broker credential (never a provider token). The `bffm_` prefix lets
 * secret scanners recognise a leaked one. Redis never holds a handle: the session id is the handle's SHA-256.
 */
export const HANDLE_PREFIX = 'bffm_'
const handlePattern = /^bffm_[A-Za-z0-9_-]{43}$/

export const newHandle = (): string => HANDLE_PREFIX + randomBytes(32).toString('base64url')
export const isHandle = (value: string): boolean => handlePattern.test(value)
/**
 * The session id of a handle: a Redis dump yields no handle. Domain-separated from the DPoP `ath` (the plain
 * SHA-256 of the handle, RFC 9449 §4.2), so a logged proof does not name the session's Redis key either.
 */
export const sessionIdOfHandle = (handle: string): string => sha256b64url(`bffm-session\0${handle}`)
