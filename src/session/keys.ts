/**
 * The Redis key layout: every key the broker writes is built here, under `redis.keyPrefix`.
 *
 * Redis Cluster places a key by the CRC16 of its hash tag (the first non-empty `{…}`) or, without one, of the
 * whole key (Redis Cluster specification, "Hash tags"); a multi-key command, MULTI or Lua script whose keys lie in
 * different slots fails with CROSSSLOT. So the keys of one grant (its record, lock, refresh backoff, rotation-grace
 * records, offline-grant metadata and newer-grant marker) share the tag `{<grant id>}`: whatever spans them stays on
 * one slot, one primary, one replication stream. Different grants still spread over every primary.
 *
 * A session is one key, express-session's record: connect-redis builds it as `sessionPrefix + id`, and no other key
 * is found by a session id (the indexes and public ids are looked up by other values). It stays untagged: a tag
 * would have to live inside the session id (cookie and handle formats), for no key to share the slot with. Keys of
 * other single-key objects (login transactions, caches, replay records, counters) stay untagged for the same reason.
 *
 * Hashed segments (`sha256`) are base64url SHA-256 digests: secrets (job tokens, refresh tokens, handoff codes)
 * never appear in a key, and attacker-chosen strings (rate-limit subjects, DPoP jti) keep keys short.
 */
export interface RedisKeys {
  /** express-session's record of a browser or mobile session (connect-redis appends the id to `sessionPrefix`) */
  session(sessionId: string): string
  sessionPrefix: string
  /** the token set of a login, shared by the sessions built on it */
  grant(grantId: string): string
  /** the lease under which one instance refreshes a grant */
  grantLock(grantId: string): string
  /** a grant's refresh token (sha256) → grant version it was rotated into (rotation grace) */
  rotated(grantId: string, refreshTokenHash: string): string
  /** cached client-credentials token of an API */
  clientCredentials(id: string): string
  clientCredentialsLock(id: string): string
  /** pending authorization request (state, nonce, PKCE verifier) */
  loginTransaction(state: string): string
  /** set of session ids of a subject / of a provider session (back-channel logout) */
  indexBySub(sub: string): string
  indexBySid(providerSid: string): string
  /** set of session ids of the ID token's own `sub` (back-channel logout, whatever provider.subjectClaim is) */
  indexByProviderSub(providerSub: string): string
  /** public id of the session administration API → session id */
  publicSession(publicId: string): string
  /** public id → offline grant id */
  publicGrant(publicId: string): string
  /** set of the offline grant ids of a subject */
  indexOfflineGrants(sub: string): string
  /** what is shown of an offline grant (JSON: sub, public id, times, scopes) */
  offlineGrant(grantId: string): string
  /** present once a newer offline grant of the same user exists (its id): this one is then no longer the one to use */
  offlineSuperseded(grantId: string): string
  /** consumed-state marker of a login (single use across instances; sha256 of the state) */
  loginUsed(stateHash: string): string
  /** a grant's refresh backoff after a transient provider failure */
  refreshBackoff(grantId: string): string
  /** a back-channel logout token's jti, seen (replay cache) */
  logoutTokenJti(jtiHash: string): string
  /** fixed-window counter of a rate limit */
  rateLimit(name: string, window: number, subjectHash: string): string
  /** single-use mobile handoff code (sha256 of the code) */
  handoff(codeHash: string): string
  /** DPoP proof jti replay record (RFC 9449 §11.1), sha256 of `jkt.jti` */
  dpopJti(proofHash: string): string
  /** job token (sha256 of the token) */
  job(tokenHash: string): string
}

/** `{id}`: the hash tag of a grant. Grant ids are random base64url (no braces), so the tag is the whole id. */
const tag = (id: string) => `{${id}}`

export function redisKeys(prefix: string): RedisKeys {
  return {
    session: (sessionId) => `${prefix}sess:${sessionId}`,
    sessionPrefix: `${prefix}sess:`,
    grant: (grantId) => `${prefix}grant:${tag(grantId)}`,
    grantLock: (grantId) => `${prefix}lock:grant:${tag(grantId)}`,
    rotated: (grantId, refreshTokenHash) => `${prefix}rotated:${tag(grantId)}:${refreshTokenHash}`,
    clientCredentials: (id) => `${prefix}cc:${id}`,
    clientCredentialsLock: (id) => `${prefix}lock:cc:${id}`,
    loginTransaction: (state) => `${prefix}login:${state}`,
    indexBySub: (sub) => `${prefix}idx:sub:${sub}`,
    indexBySid: (providerSid) => `${prefix}idx:sid:${providerSid}`,
    indexByProviderSub: (providerSub) => `${prefix}idx:psub:${providerSub}`,
    publicSession: (publicId) => `${prefix}pub:s:${publicId}`,
    publicGrant: (publicId) => `${prefix}pub:g:${publicId}`,
    indexOfflineGrants: (sub) => `${prefix}idx:offline:${sub}`,
    offlineGrant: (grantId) => `${prefix}offline:${tag(grantId)}`,
    offlineSuperseded: (grantId) => `${prefix}offline-newer:${tag(grantId)}`,
    loginUsed: (stateHash) => `${prefix}login-used:${stateHash}`,
    refreshBackoff: (grantId) => `${prefix}backoff:grant:${tag(grantId)}`,
    logoutTokenJti: (jtiHash) => `${prefix}bcl:jti:${jtiHash}`,
    rateLimit: (name, window, subjectHash) => `${prefix}rl:${name}:${window}:${subjectHash}`,
    handoff: (codeHash) => `${prefix}handoff:${codeHash}`,
    dpopJti: (proofHash) => `${prefix}dpop:jti:${proofHash}`,
    job: (tokenHash) => `${prefix}job:${tokenHash}`,
  }
}
