import { KeyObject, constants, verify as verifySignature, type VerifyKeyObjectInput } from 'node:crypto'
import { EmbeddedJWK, calculateJwkThumbprint, compactVerify, type JWK } from 'jose'

/**
 * The public keys of DPoP proofs (RFC 9449 §4.2: the proof carries its own `jwk`), imported once per distinct key.
 * An app sends the same key on every request, so its import (jose's EmbeddedJWK: public key only, kty and crv
 * agreeing with alg, `use` and `alg` members respected) and its RFC 7638 thumbprint are kept in a bounded LRU, keyed by
 * alg and the JWK's canonical JSON. The signature itself is checked with node:crypto's synchronous `verify` on the
 * cached KeyObject: the same RFC 7518 §3 algorithms WebCrypto would run, without a WebCrypto key import and a thread
 * pool round trip per request. No cryptography is written here.
 */

export interface ProofKeys {
  /**
   * The proof's payload bytes and its key's thumbprint once the signature checks out; rejects (with whatever jose or
   * node:crypto threw, or a plain Error) when the key is unusable or the signature does not verify.
   */
  verify(proof: string, header: { alg: string; jwk: JWK; crit?: unknown; b64?: unknown }): Promise<{ payload: Uint8Array; jkt: string }>
}

interface ProofKey {
  cryptoKey: CryptoKey
  verifyKey: VerifyKeyObjectInput
  hash: string | null
  jkt: string
}

// RFC 7518 §3.3 / §3.5: RSA keys of 2048 bits or larger (jose enforces the same bound)
const MIN_RSA_BITS = 2048
const DEFAULT_MAX_KEYS = 4096

/** JSON of the JWK's members in name order: the same key sent with its members in another order is one entry. */
const canonicalJson = (jwk: JWK): string =>
  JSON.stringify(Object.keys(jwk).sort().map((name) => [name, (jwk as Record<string, unknown>)[name]]))

/** The node:crypto parameters of a JWS alg (RFC 7518 §3.1, RFC 8037 §3.1). */
function signatureParams(alg: string, key: KeyObject): { hash: string | null; options: Omit<VerifyKeyObjectInput, 'key'> } {
  if (alg === 'EdDSA') return { hash: null, options: {} }
  const hash = `sha${alg.slice(2)}`
  if (alg.startsWith('ES')) return { hash, options: { dsaEncoding: 'ieee-p1363' } }
  if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) throw new TypeError(`${alg} requires a key of ${MIN_RSA_BITS} bits or more`)
  // RFC 7518 §3.5: the PSS salt is as long as the hash output
  if (alg.startsWith('PS')) return { hash, options: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 } }
  return { hash, options: {} }
}

// a segment whose length is 1 mod 4 is no base64url (jose refuses it; Buffer would drop the stray character)
const validSegment = (segment: string) => segment.length % 4 !== 1

export function createProofKeys(opts: { maxKeys?: number } = {}): ProofKeys {
  const maxKeys = opts.maxKeys ?? DEFAULT_MAX_KEYS
  const keys = new Map<string, ProofKey>()
  // the DPoP verifier hands the same (frozen) header object for every proof with the same header: its key is found
  // without building the canonical JSON again
  const byHeader = new WeakMap<object, ProofKey>()

  async function keyFor(alg: string, jwk: JWK): Promise<ProofKey> {
    const id = `${alg}\n${canonicalJson(jwk)}`
    const hit = keys.get(id)
    if (hit) {
      // least recently used first: a hit moves to the end
      keys.delete(id)
      keys.set(id, hit)
      return hit
    }
    const cryptoKey = await EmbeddedJWK({ alg, jwk })
    const key = KeyObject.from(cryptoKey)
    const { hash, options } = signatureParams(alg, key)
    const entry: ProofKey = { cryptoKey, verifyKey: { key, ...options }, hash, jkt: await calculateJwkThumbprint(jwk, 'sha256') }
    if (keys.size >= maxKeys) keys.delete(keys.keys().next().value as string)
    keys.set(id, entry)
    return entry
  }

  return {
    async verify(proof, header) {
      const key = byHeader.get(header) ?? (await keyFor(header.alg, header.jwk))
      byHeader.set(header, key)
      // a header with crit or b64 (RFC 7515 §4.1.11, RFC 7797) is left to jose, which knows those rules
      if (header.crit !== undefined || header.b64 !== undefined) {
        const { payload } = await compactVerify(proof, key.cryptoKey, { algorithms: [header.alg] })
        return { payload, jkt: key.jkt }
      }
      const first = proof.indexOf('.')
      const last = proof.lastIndexOf('.')
      const payload = proof.slice(first + 1, last)
      const signature = proof.slice(last + 1)
      if (!validSegment(payload) || !validSegment(signature)) throw new Error('invalid base64url segment')
      // RFC 7515 §5.2: the signing input is the ASCII of `header.payload` as received
      const ok = verifySignature(key.hash, Buffer.from(proof.slice(0, last), 'latin1'), key.verifyKey, Buffer.from(signature, 'base64url'))
      if (!ok) throw new Error('signature verification failed')
      return { payload: Buffer.from(payload, 'base64url'), jkt: key.jkt }
    },
  }
}
