/** A token endpoint answer, normalised across dialects. Times are epoch seconds. */
export interface TokenSet {
  accessToken: string
  tokenType: string
  /** epoch seconds; absent when the provider sent no lifetime */
  expiresAt?: number
  /** lifetime the provider announced, seconds (used to cap the refresh skew at half of it) */
  expiresIn?: number
  refreshToken?: string
  idToken?: string
  scope?: string
  /** validated ID token claims, when an ID token came with the answer */
  idTokenClaims?: Readonly<Record<string, unknown>>
  /** the rest of the token response (e.g. `userId`), used for subject lookup; never tokens */
  extra?: Readonly<Record<string, unknown>>
}

export interface LoginChecks {
  state: string
  codeVerifier: string
  nonce?: string
}

export interface AuthorizationRequest {
  state: string
  codeChallenge: string
  nonce?: string
  redirectUri: string
  /**
   * an offline login (a background job may act for the user later): `offline_access` is added to the scopes and
   * `prompt=consent` sent (OIDC Core §11: offline_access needs the consent prompt)
   */
  offline?: boolean
}

export interface TokenRequestOptions {
  scope?: readonly string[]
  resource?: string
}

/** RFC 8693 §2.1: what the exchanged token is for (at least one of them). */
export interface TokenExchangeOptions {
  audience?: string
  scope?: readonly string[]
}

export interface EndSessionRequest {
  idTokenHint?: string
  postLogoutRedirectUri: string
}

/** What a verified back-channel logout token names (OIDC Back-Channel Logout 1.0 §2.4). */
export interface LogoutTokenClaims {
  sub?: string
  sid?: string
  /** unique per token (§2.4 REQUIRED), for the replay check */
  jti: string
  /** epoch seconds (§2.4 REQUIRED): how long the replay check must remember the jti */
  exp: number
}

/**
 * The OAuth provider port. One implementation wraps openid-client (oauth/openid-client-provider.ts);
 * every failure it throws is already a BffError (see oauth/errors.ts).
 */
export interface OAuthProvider {
  /** metadata loaded (discovery done or endpoints configured) */
  isReady(): boolean
  /** loads metadata now, rejecting on failure (the background loader retries with backoff) */
  ensureReady(): Promise<void>
  /** start background metadata loading with retry and backoff; returns at once */
  startLoading(): void
  stop(): void
  authorizationUrl(request: AuthorizationRequest): Promise<URL>
  /** `callbackUrl` is the full URL the provider redirected to (query holds code, state, iss) */
  exchangeCode(callbackUrl: URL, checks: LoginChecks, redirectUri: string): Promise<TokenSet>
  refresh(refreshToken: string, options?: TokenRequestOptions): Promise<TokenSet>
  clientCredentials(options?: TokenRequestOptions): Promise<TokenSet>
  /**
   * RFC 8693 token exchange of a user's access token for an access token for another API. A refusal throws
   * exchange_refused (403), never session_expired: the user's grant is not at stake.
   */
  tokenExchange(subjectToken: string, options: TokenExchangeOptions): Promise<TokenSet>
  password(username: string, password: string): Promise<TokenSet>
  /**
   * userinfo (or a dialect's "me" endpoint); undefined when the provider has none. With `expectedSubject` (the ID
   * token's `sub`) an answer about anyone else is refused (OIDC Core §5.3.2) with login_failed. With `profileOnly`
   * (the ID token named the user already) every other failure is a 5xx, which the caller may ride out.
   */
  userinfo(
    accessToken: string, expectedSubject?: string, opts?: { profileOnly?: boolean },
  ): Promise<Readonly<Record<string, unknown>> | undefined>
  /** RFC 7009; a no-op when the provider has no revocation endpoint */
  revoke(token: string, hint: 'refresh_token' | 'access_token'): Promise<void>
  /** undefined when the provider has no end-session endpoint */
  endSessionUrl(request: EndSessionRequest): Promise<URL | undefined>
  verifyLogoutToken(logoutToken: string): Promise<LogoutTokenClaims>
  hasRevocation(): boolean
}
