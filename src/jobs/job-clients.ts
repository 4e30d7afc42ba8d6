import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { JobClientConfig } from '../config/types.js'

/** Credentials as sent in an `Authorization: Basic` header (RFC 7617 §2), already form-decoded. */
export interface BasicCredentials {
  clientId: string
  secret: string
}

export type JobAuthFailure = 'no_credentials' | 'malformed_credentials' | 'unknown_client' | 'wrong_secret'

export type JobAuthResult =
  | { ok: true; client: JobClientConfig }
  /** `clientId` is set when the header was well-formed: the id it claimed (it may not exist) */
  | { ok: false; reason: JobAuthFailure; clientId?: string }

export interface JobClients {
  /** checks an `Authorization` header value against `jobs.clients[]` (the same work whether or not the id exists) */
  authenticate(authorizationHeader: string | undefined): JobAuthResult
  /** the secret check alone, for callers that parsed the header already */
  verify(credentials: BasicCredentials): JobAuthResult
  byId(id: string): JobClientConfig | undefined
}

/** `sha256:<hex>`, the form `jobs.clients[].secretHash` takes (`npm run job:secret` prints it). */
export function secretHashOf(secret: string): string {
  return `sha256:${createHash('sha256').update(secret, 'utf8').digest('hex')}`
}

// far longer than any generated secret (43 characters) or id (64): more is garbage, not worth hashing
const maxHeaderLength = 1024
const base64 = /^[A-Za-z0-9+/]+={0,2}$/
const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * RFC 7617 Basic credentials. RFC 6749 §2.3.1 has the client id and secret form-urlencoded (Appendix B) before
 * the Basic encoding, so `+` is a space and `%XX` an octet. Undefined for anything that is not well-formed.
 */
export function parseBasicCredentials(header: string | undefined): BasicCredentials | undefined {
  if (header === undefined || header.length > maxHeaderLength) return undefined
  const match = /^basic +(\S+) *$/i.exec(header)
  const encoded = match?.[1]
  if (encoded === undefined || encoded.length % 4 !== 0 || !base64.test(encoded)) return undefined
  let decoded: string
  try {
    decoded = utf8.decode(Buffer.from(encoded, 'base64'))
  } catch {
    return undefined
  }
  const colon = decoded.indexOf(':')
  if (colon < 1) return undefined
  const clientId = formDecode(decoded.slice(0, colon))
  const secret = formDecode(decoded.slice(colon + 1))
  if (clientId === undefined || secret === undefined || clientId === '') return undefined
  return { clientId, secret }
}

function formDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '))
  } catch {
    return undefined // a stray % that starts no escape
  }
}

/** The lookup and the constant-time secret check of `jobs.clients[]`. */
export function createJobClients(clients: readonly JobClientConfig[]): JobClients {
  const byId = new Map(clients.map((client) => [client.id, { client, hash: digestOf(client.secretHash) }]))
  // an unknown id is compared against this, so its answer takes as long as a wrong secret's
  const decoy = randomBytes(32)
  const verify = ({ clientId, secret }: BasicCredentials): JobAuthResult => {
    const entry = byId.get(clientId)
    const presented = createHash('sha256').update(secret, 'utf8').digest()
    const matches = timingSafeEqual(presented, entry?.hash ?? decoy)
    if (entry === undefined) return { ok: false, reason: 'unknown_client', clientId }
    if (!matches) return { ok: false, reason: 'wrong_secret', clientId }
    return { ok: true, client: entry.client }
  }
  return {
    authenticate(authorizationHeader) {
      if (authorizationHeader === undefined) return { ok: false, reason: 'no_credentials' }
      const credentials = parseBasicCredentials(authorizationHeader)
      return credentials === undefined ? { ok: false, reason: 'malformed_credentials' } : verify(credentials)
    },
    verify,
    byId: (id) => byId.get(id)?.client,
  }
}

function digestOf(secretHash: string): Buffer {
  return Buffer.from(secretHash.slice('sha256:'.length), 'hex')
}
