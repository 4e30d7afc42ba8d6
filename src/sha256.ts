import { hash } from 'node:crypto'

/**
 * SHA-256 of a string as base64url (RFC 4648 §5, no padding). One-shot `crypto.hash` costs about a third of
 * `createHash().update().digest()` (no Hash object per call), which counts on the hot paths that hash per request: a
 * job token's key, a DPoP proof's `ath` and `jti`, a mobile handle's session id.
 */
export const sha256b64url = (value: string): string => hash('sha256', value, 'base64url')
