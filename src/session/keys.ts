/**
 * The Redis key layout: every key the broker writes is built here, under `redis.keyPrefix`.
 *
 * Redis Cluster places a key by the CRC16 of its hash tag (the first non-empty `{…}`) or, without one, of the
 * whole key (Redis Cluster specification, "Hash tags"). A multi-key command, MULTI or Lua script whose keys lie
 * in different slots fails with CROSSSLOT. The broker issues none: every store operation touches one key (the
 * Lua scripts of redis-store.ts name exactly one KEYS[1], deletes go out one key each, and the session-existence
 * check of http-session.ts sends one EXISTS per key in a cluster). So no key needs a hash tag, and the layout is
 * the same on a single node, Sentinel and Cluster. A future operation spanning keys must put them under one tag
 * here, e.g. `grant:{<id>}` and `lock:grant:{<id>}`, and say so in the README's "Redis key layout".
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
  /** refresh token (sha256) → grant version it was rotated into (rotation grace) */
  rotated(refreshTokenHash: string): string
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

export function redisKeys(prefix: string): RedisKeys {
  return {
    session: (sessionId) => `${prefix}sess:${sessionId}`,
    sessionPrefix: `${prefix}sess:`,
    grant: (grantId) => `${prefix}grant:${grantId}`,
    grantLock: (grantId) => `${prefix}lock:grant:${grantId}`,
    rotated: (refreshTokenHash) => `${prefix}rotated:${refreshTokenHash}`,
    clientCredentials: (id) => `${prefix}cc:${id}`,
    clientCredentialsLock: (id) => `${prefix}lock:cc:${id}`,
    loginTransaction: (state) => `${prefix}login:${state}`,
    indexBySub: (sub) => `${prefix}idx:sub:${sub}`,
    indexBySid: (providerSid) => `${prefix}idx:sid:${providerSid}`,
    indexByProviderSub: (providerSub) => `${prefix}idx:psub:${providerSub}`,
    publicSession: (publicId) => `${prefix}pub:s:${publicId}`,
    publicGrant: (publicId) => `${prefix}pub:g:${publicId}`,
    indexOfflineGrants: (sub) => `${prefix}idx:offline:${sub}`,
    offlineGrant: (grantId) => `${prefix}offline:${grantId}`,
    loginUsed: (stateHash) => `${prefix}login-used:${stateHash}`,
    refreshBackoff: (grantId) => `${prefix}backoff:grant:${grantId}`,
    logoutTokenJti: (jtiHash) => `${prefix}bcl:jti:${jtiHash}`,
    rateLimit: (name, window, subjectHash) => `${prefix}rl:${name}:${window}:${subjectHash}`,
    handoff: (codeHash) => `${prefix}handoff:${codeHash}`,
    dpopJti: (proofHash) => `${prefix}dpop:jti:${proofHash}`,
    job: (tokenHash) => `${prefix}job:${tokenHash}`,
  }
}
