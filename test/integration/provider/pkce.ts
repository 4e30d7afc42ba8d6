import { createHash, randomBytes } from 'node:crypto'
import type { LoginChecks } from '../../../src/oauth/provider.js'

// What the login route does before redirecting (RFC 7636 §4.1–4.2), done here without openid-client.
export const loginChecks = (nonce?: string): LoginChecks => ({
  state: randomBytes(16).toString('base64url'),
  codeVerifier: randomBytes(32).toString('base64url'),
  ...(nonce ? { nonce } : {}),
})

export const calculateCodeChallenge = async (verifier: string) => createHash('sha256').update(verifier).digest('base64url')
