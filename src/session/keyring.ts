import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'

/**
 * Envelope encryption for grants at rest: every record gets a fresh data key (AES-256-GCM), and the data key is
 * wrapped with the first key of the ring. All ring keys unwrap, so a rotation (new key first, old key kept) logs
 * nobody out. A Redis dump alone yields no usable token.
 */
export interface KeyRing {
  seal(plaintext: string, associatedData: string): string
  open(sealed: string, associatedData: string): string
}

interface Kek {
  id: string
  key: Buffer
}

const VERSION = 'v1'

// Keys are configured as strings of at least 32 characters; SHA-256 turns any of them into a 256-bit key.
function deriveKek(secret: string): Kek {
  const key = createHash('sha256').update('bff-broker/kek/v1\0').update(secret).digest()
  const id = createHash('sha256').update(key).digest('base64url').slice(0, 8)
  return { id, key }
}

function gcmEncrypt(key: Buffer, plaintext: Buffer, aad: string) {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.from(aad))
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64url')
}

function gcmDecrypt(key: Buffer, packed: string, aad: string): Buffer {
  const buf = Buffer.from(packed, 'base64url')
  const decipher = createDecipheriv('aes-256-gcm', key, buf.subarray(0, 12))
  decipher.setAAD(Buffer.from(aad))
  decipher.setAuthTag(buf.subarray(12, 28))
  return Buffer.concat([decipher.update(buf.subarray(28)), decipher.final()])
}

export function createKeyRing(secrets: readonly string[]): KeyRing {
  const keks = secrets.map(deriveKek)
  const current = keks[0]
  if (!current) throw new Error('tokens.encryptionKeys: at least one key is required')
  const byId = new Map(keks.map((k) => [k.id, k]))
  return {
    seal(plaintext, associatedData) {
      const dek = randomBytes(32)
      // the record's own id is bound as associated data: a ciphertext moved to another key does not open
      const wrapped = gcmEncrypt(current.key, dek, `dek:${associatedData}`)
      const body = gcmEncrypt(dek, Buffer.from(plaintext, 'utf8'), associatedData)
      return [VERSION, current.id, wrapped, body].join('.')
    },
    open(sealed, associatedData) {
      const [version, kid, wrapped, body] = sealed.split('.')
      if (version !== VERSION || !kid || !wrapped || !body) throw new Error('sealed record: unknown format')
      const kek = byId.get(kid)
      if (!kek) throw new Error(`sealed record: key ${kid} is not in the key ring`)
      const dek = gcmDecrypt(kek.key, wrapped, `dek:${associatedData}`)
      return gcmDecrypt(dek, body, associatedData).toString('utf8')
    },
  }
}
