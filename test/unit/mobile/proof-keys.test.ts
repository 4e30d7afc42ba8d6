import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { calculateJwkThumbprint, type JWK } from 'jose'
import { describe, expect, it } from 'vitest'
import { generateDpopKey, makeProof } from '../../../examples/mobile-client.js'
import { createProofKeys } from '../../../src/mobile/proof-keys.js'
import { DPOP_ALGORITHMS } from '../../../src/mobile/dpop.js'

// The proof-key cache and the node:crypto signature check (src/mobile/proof-keys.ts): every alg jose accepted is
// still accepted, from the first proof of a key and from the cached key, and nothing jose refused gets through.

const htu = 'https://app.example.com/api/orders'
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const headerOf = (proof: string) => JSON.parse(Buffer.from(proof.split('.')[0] as string, 'base64url').toString()) as { alg: string; jwk: JWK }

/** A compact JWS signed by node:crypto directly, for headers jose would refuse to sign. */
function signRaw(header: Record<string, unknown>, privateKey: KeyObject, hash: string, ec = true): string {
  const input = `${b64(header)}.${b64({ htm: 'GET', htu, iat: 1, jti: 'x' })}`
  const signature = sign(hash, Buffer.from(input), ec ? { key: privateKey, dsaEncoding: 'ieee-p1363' } : privateKey)
  return `${input}.${signature.toString('base64url')}`
}

describe('DPoP proof keys (RFC 9449 §4.3, RFC 7518 §3)', () => {
  it.each(DPOP_ALGORITHMS.map((alg) => [alg]))('when %s proofs arrive, then the first and a repeat of the key verify, and a bad signature does not', async (alg) => {
    const keys = createProofKeys()
    const key = await generateDpopKey(alg)
    for (let i = 0; i < 2; i++) {
      const proof = await makeProof(key, { htm: 'GET', htu })
      const checked = await keys.verify(proof, headerOf(proof))
      expect(checked.jkt).toBe(key.jkt)
      expect(JSON.parse(Buffer.from(checked.payload).toString())).toMatchObject({ htm: 'GET', htu })
    }
    const proof = await makeProof(key, { htm: 'GET', htu })
    const [h, p, s = ''] = proof.split('.')
    const altered = `${h}.${p}.${s.startsWith('A') ? 'B' : 'A'}${s.slice(1)}`
    await expect(keys.verify(altered, headerOf(altered))).rejects.toThrow()
  })

  it('when a P-256 key seen with ES256 signs a proof as ES384, then it is refused (alg and curve must agree)', async () => {
    const keys = createProofKeys()
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const jwk = publicKey.export({ format: 'jwk' }) as JWK
    const es256 = signRaw({ alg: 'ES256', typ: 'dpop+jwt', jwk }, privateKey, 'sha256')
    await expect(keys.verify(es256, headerOf(es256))).resolves.toMatchObject({ jkt: await calculateJwkThumbprint(jwk) })
    // signed with either hash: the header's alg decides, never the alg the key was first seen with
    for (const hash of ['sha384', 'sha256']) {
      const es384 = signRaw({ alg: 'ES384', typ: 'dpop+jwt', jwk }, privateKey, hash)
      await expect(keys.verify(es384, headerOf(es384))).rejects.toThrow()
    }
  })

  it('when an RSA key is shorter than 2048 bits, then its proofs are refused (RFC 7518 §3.3)', async () => {
    const keys = createProofKeys()
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 })
    const jwk = publicKey.export({ format: 'jwk' }) as JWK
    const proof = signRaw({ alg: 'RS256', typ: 'dpop+jwt', jwk }, privateKey, 'sha256', false)
    await expect(keys.verify(proof, headerOf(proof))).rejects.toThrow(/2048/)
  })

  it('when the header names a critical extension nobody understands, then the proof is refused (RFC 7515 §4.1.11)', async () => {
    const keys = createProofKeys()
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const header = { alg: 'ES256', typ: 'dpop+jwt', jwk: publicKey.export({ format: 'jwk' }), crit: ['x-ext'], 'x-ext': 1 }
    const proof = signRaw(header, privateKey, 'sha256')
    await expect(keys.verify(proof, { ...headerOf(proof), crit: header.crit })).rejects.toThrow(/x-ext/)
  })

  it('when the JWK members come in another order or more keys than the bound were seen, then the key still verifies with the same jkt', async () => {
    const keys = createProofKeys({ maxKeys: 2 })
    const first = await generateDpopKey('ES256')
    for (const key of [first, await generateDpopKey('ES256'), await generateDpopKey('ES256')]) {
      const proof = await makeProof(key, { htm: 'GET', htu })
      await keys.verify(proof, headerOf(proof))
    }
    const reordered = Object.fromEntries(Object.entries(first.publicJwk).reverse()) as JWK
    const proof = await makeProof(first, { htm: 'GET', htu, jwk: reordered })
    await expect(keys.verify(proof, headerOf(proof))).resolves.toMatchObject({ jkt: first.jkt })
  })
})
