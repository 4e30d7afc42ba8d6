import type { ClientAuth as ClientAuthName, ProviderConfig } from '../../config/types.js'
import { basicCredentials, formToJson, normaliseTokenResponse } from './wire.js'

/**
 * The two places openid-client lets a dialect reach the wire: client authentication (a function over the token
 * request's body and headers) and the fetch hook. Typed structurally so that openid-client stays imported by
 * oauth/openid-client-provider.ts alone; both shapes match openid-client 6's `ClientAuth` and `CustomFetch`.
 */
export type ClientAuthFn = (as: unknown, client: unknown, body: URLSearchParams, headers: Headers) => void
export type WireFetch = (
  url: string,
  options: { body?: unknown; headers: Record<string, string>; method: string; redirect: 'manual'; signal?: AbortSignal },
) => Promise<Response>

export function clientAuthFor(config: Pick<ProviderConfig, 'clientId' | 'clientSecret'> & { clientAuth: ClientAuthName }): ClientAuthFn {
  switch (config.clientAuth) {
    case 'client_secret_basic':
      return (_as, _client, _body, headers) => {
        headers.set('authorization', basicCredentials(config.clientId, config.clientSecret))
      }
    // RFC 6749 §2.3.1's body form; for client_secret_json the fetch hook then re-encodes that body as JSON
    case 'client_secret_post':
    case 'client_secret_json':
      return (_as, _client, body) => {
        body.set('client_id', config.clientId)
        body.set('client_secret', config.clientSecret)
      }
  }
}

/**
 * The fetch hook: token endpoint requests become JSON for client_secret_json (Samsung Account), and 200
 * answers of the token endpoint are normalised (wire.ts) before openid-client checks them. Everything else,
 * error answers included, passes through untouched.
 */
export function createWireFetch(
  baseFetch: typeof fetch,
  config: Pick<ProviderConfig, 'clientAuth'>,
  tokenEndpoint: () => string | undefined,
): WireFetch {
  return async (url, options) => {
    const endpoint = tokenEndpoint()
    const isToken = endpoint !== undefined && new URL(endpoint).href === url
    let init = options as RequestInit
    if (isToken && config.clientAuth === 'client_secret_json' && options.body instanceof URLSearchParams) {
      init = { ...init, body: formToJson(options.body), headers: { ...options.headers, 'content-type': 'application/json' } }
    }
    const res = await baseFetch(url, init)
    if (!isToken || res.status !== 200) return res
    const text = await res.text()
    const headers = new Headers(res.headers)
    headers.delete('content-length')
    headers.delete('content-encoding')
    let body = text
    try {
      const json: unknown = JSON.parse(text)
      if (json && typeof json === 'object' && !Array.isArray(json)) {
        body = JSON.stringify(normaliseTokenResponse(json as Record<string, unknown>))
      }
    } catch {
      // not JSON: left as it is for openid-client to reject as malformed
    }
    return new Response(body, { status: res.status, statusText: res.statusText, headers })
  }
}
