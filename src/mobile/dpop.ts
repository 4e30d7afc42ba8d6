import { sha256b64url } from '../sha256.js'
import { calculateJwkThumbprint, decodeProtectedHeader, type JWK, type ProtectedHeaderParameters } from 'jose'
import { sameHtu } from './htu.js'
import { createProofKeys, type ProofKeys } from './proof-keys.js'

/**
 * DPoP proof verification (RFC 9449 §4.3). jose and node:crypto do the cryptography (proof-keys.ts); this module
 * decides what a proof must say.
 * The proof is checked in this order: size and shape, header (typ, alg, public jwk), signature with the embedded key,
 * key thumbprint, claims (htm, htu, iat, jti, ath), and only then the jti replay record, so that a forged proof
 * cannot fill the replay store.
 */

/** Asymmetric JWS algorithms only (RFC 9449 §4.2: never `none`, never a MAC). */
export const DPOP_ALGORITHMS = [
  'ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA',
] as const

export const MAX_PROOF_BYTES = 8192
export const MAX_JTI_LENGTH = 256

// RFC 7517 §9.2 / RFC 7518 §6: any of these makes a JWK private (or symmetric) key material
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'] as const

export type DpopFailure =
  | 'missing'
  | 'multiple_proofs'
  | 'too_large'
  | 'malformed'
  | 'wrong_typ'
  | 'unsupported_alg'
  | 'missing_jwk'
  | 'private_jwk'
  | 'bad_signature'
  | 'wrong_key'
  | 'wrong_htm'
  | 'wrong_htu'
  | 'bad_iat'
  | 'stale_iat'
  | 'future_iat'
  | 'bad_jti'
  | 'replayed_jti'
  | 'missing_ath'
  | 'wrong_ath'

/** A rejected proof; `reason` is for logs only, the answer is always `invalid_dpop_proof`. */
export class DpopError extends Error {
  readonly reason: DpopFailure
  constructor(reason: DpopFailure, options?: { cause?: unknown }) {
    super(`invalid DPoP proof: ${reason}`, options)
    this.name = 'DpopError'
    this.reason = reason
  }
}

/** true when this (jkt, jti) pair was seen for the first time; rejects when the store cannot answer. */
export type DpopReplayCheck = (jti: string, ttlMs: number, jkt: string) => Promise<boolean>

export interface DpopVerifierOptions {
  /** the broker's external origin: htu must be this origin + the request path */
  publicUrl: URL
  /** epoch milliseconds */
  clock: () => number
  /** how old a proof's iat may be (default 60) */
  maxAgeSeconds?: number
  /**
   * how far a proof's iat may lie ahead of the clock (default 60: "iat within 60 s" either way, since phone clocks
   * drift; RFC 9449 §11.1 leaves the window to the server, and the jti is remembered for all of it)
   */
  futureSkewSeconds?: number
  replay: DpopReplayCheck
}

export interface DpopVerifyInput {
  /** the DPoP request header as received (a joined or repeated header is refused) */
  proof: string | readonly string[] | undefined
  method: string
  /** the request path; a query or fragment is ignored */
  path: string
  /** the handle the request presents: then `ath` is required and must match it */
  accessToken?: string
  /** the RFC 7638 thumbprint the handle or handoff code is bound to */
  expectedJkt?: string
}

export interface DpopVerifier {
  verify(input: DpopVerifyInput): Promise<{ jkt: string }>
  /** how long a jti must be remembered: as long as any proof carrying it could still be accepted */
  readonly replayTtlMs: number
}


/** RFC 7638 SHA-256 thumbprint, the `jkt` of RFC 9449 §6. */
export const jwkThumbprint = (jwk: JWK): Promise<string> => calculateJwkThumbprint(jwk, 'sha256')

export function createDpopVerifier(options: DpopVerifierOptions): DpopVerifier {
  const maxAgeMs = (options.maxAgeSeconds ?? 60) * 1000
  const futureSkewMs = (options.futureSkewSeconds ?? 60) * 1000
  // a proof with iat = now + skew stays acceptable until now + skew + maxAge; one extra second for rounding
  const replayTtlMs = maxAgeMs + futureSkewMs + 1000
  const origin = options.publicUrl.origin
  const keys = createProofKeys()
  // an app sends the same protected header (typ, alg, its public jwk) on every proof: the checked header is kept per
  // header segment as received, once a proof with it has verified (bounded; so a flood of made-up headers, or one
  // whose key does not import, is never kept)
  const headers = new Map<string, CheckedHeader>()
  const remember = (segment: string, header: CheckedHeader) => {
    if (headers.size >= 4096) headers.clear()
    // a copy of the segment: a slice would keep the whole proof it came from alive
    headers.set(Buffer.from(segment, 'latin1').toString('latin1'), header)
  }

  async function verify(input: DpopVerifyInput): Promise<{ jkt: string }> {
    const proof = singleProof(input.proof)
    const segment = proof.slice(0, proof.indexOf('.'))
    const known = headers.get(segment)
    const header = known ?? checkHeader(proof)
    const { claims, jkt } = await verifySignature(keys, proof, header)
    if (!known) remember(segment, header)
    if (input.expectedJkt !== undefined && jkt !== input.expectedJkt) throw new DpopError('wrong_key')
    if (claims.htm !== input.method) throw new DpopError('wrong_htm')
    if (!sameHtu(claims.htu, origin, input.path)) throw new DpopError('wrong_htu')
    checkIat(claims.iat, options.clock())
    const jti = claims.jti
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) throw new DpopError('bad_jti')
    if (input.accessToken !== undefined) checkAth(claims.ath, input.accessToken)
    if (!(await options.replay(jti, replayTtlMs, jkt))) throw new DpopError('replayed_jti')
    return { jkt }
  }

  function checkIat(iat: unknown, nowMs: number): void {
    if (typeof iat !== 'number' || !Number.isFinite(iat)) throw new DpopError('bad_iat')
    const ageMs = nowMs - iat * 1000
    if (ageMs > maxAgeMs) throw new DpopError('stale_iat')
    if (-ageMs > futureSkewMs) throw new DpopError('future_iat')
  }

  return { verify, replayTtlMs }
}

function singleProof(value: string | readonly string[] | undefined): string {
  if (value === undefined || value === '') throw new DpopError('missing')
  if (typeof value !== 'string') {
    if (value.length !== 1) throw new DpopError(value.length === 0 ? 'missing' : 'multiple_proofs')
    return singleProof(value[0])
  }
  if (value.length > MAX_PROOF_BYTES) throw new DpopError('too_large')
  // Node joins a repeated header with ", " (RFC 9449 §4.3 check 1: exactly one DPoP header)
  if (value.includes(',')) throw new DpopError('multiple_proofs')
  if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(value)) throw new DpopError('malformed')
  return value
}

type CheckedHeader = Readonly<ProtectedHeaderParameters & { jwk: JWK }>

function checkHeader(proof: string): CheckedHeader {
  let header: ProtectedHeaderParameters
  try {
    header = decodeProtectedHeader(proof)
  } catch (cause) {
    throw new DpopError('malformed', { cause })
  }
  if (header.typ !== 'dpop+jwt') throw new DpopError('wrong_typ')
  if (!(DPOP_ALGORITHMS as readonly unknown[]).includes(header.alg)) throw new DpopError('unsupported_alg')
  const jwk = header.jwk
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw new DpopError('missing_jwk')
  if (jwk.kty === 'oct' || PRIVATE_JWK_MEMBERS.some((member) => member in jwk)) throw new DpopError('private_jwk')
  // shared by every later proof with this header: frozen, so no caller can alter what the next one is checked against
  return Object.freeze({ ...header, jwk: Object.freeze(jwk) })
}

const utf8 = new TextDecoder()

async function verifySignature(
  keys: ProofKeys,
  proof: string,
  header: CheckedHeader,
): Promise<{ claims: Record<string, unknown>; jkt: string }> {
  let checked: { payload: Uint8Array; jkt: string }
  try {
    // the header's jwk (public keys only, alg and kty must agree) verifies the signature; jkt is its thumbprint
    checked = await keys.verify(proof, header as ProtectedHeaderParameters & { alg: string; jwk: JWK })
  } catch (cause) {
    throw new DpopError('bad_signature', { cause })
  }
  try {
    const claims: unknown = JSON.parse(utf8.decode(checked.payload))
    if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw new TypeError('not an object')
    return { claims: claims as Record<string, unknown>, jkt: checked.jkt }
  } catch (cause) {
    throw new DpopError('malformed', { cause })
  }
}

function checkAth(ath: unknown, accessToken: string): void {
  if (typeof ath !== 'string') throw new DpopError('missing_ath')
  if (ath !== sha256b64url(accessToken)) throw new DpopError('wrong_ath')
}
