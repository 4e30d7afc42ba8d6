import { activeTracer, endClientSpan, failSpan, startClientSpan } from '../observability/spans.js'

/** The provider endpoints a span can name: a closed set, never a URL (a wire dialect may put a token in the query). */
export type ProviderEndpoint = 'discovery' | 'jwks' | 'token' | 'userinfo' | 'revocation' | 'other'

interface EndpointMetadata {
  token_endpoint?: string
  userinfo_endpoint?: string
  revocation_endpoint?: string
  jwks_uri?: string
}

/** Names the endpoint a provider request goes to, from the loaded metadata (origin and path; the query is ignored). */
export function providerEndpointOf(metadata: () => EndpointMetadata | undefined): (url: URL) => ProviderEndpoint {
  const same = (url: URL, endpoint: string | undefined) => {
    if (!endpoint) return false
    const e = parseUrl(endpoint)
    return e !== undefined && e.origin === url.origin && e.pathname === url.pathname
  }
  return (url) => {
    // RFC 8414 §3 and OIDC Discovery §4: the metadata document lives under /.well-known/
    if (url.pathname.includes('/.well-known/')) return 'discovery'
    const m = metadata()
    if (same(url, m?.token_endpoint)) return 'token'
    if (same(url, m?.userinfo_endpoint)) return 'userinfo'
    if (same(url, m?.revocation_endpoint)) return 'revocation'
    if (same(url, m?.jwks_uri)) return 'jwks'
    return 'other'
  }
}

/**
 * The provider's fetch with a client span per request when tracing is on. Asked per request, not once: a provider
 * call is never on the hot path, and the provider may be built before tracing starts (tests pass their own). No
 * traceparent is sent: the provider is often a third party, and the broker's trace ids are its own business.
 */
export function traceProviderFetch(
  fetch: typeof globalThis.fetch,
  endpointOf: (url: URL) => ProviderEndpoint,
): typeof globalThis.fetch {
  return async (input, init) => {
    const tracer = activeTracer()
    if (!tracer) return fetch(input, init)
    const url = new URL(input instanceof Request ? input.url : input)
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase()
    const endpoint = endpointOf(url)
    const span = startClientSpan(tracer, `${method} ${endpoint}`, url, method, { 'bff.provider.endpoint': endpoint })
    let status: number | undefined
    try {
      const res = await fetch(input, init)
      status = res.status
      return res
    } catch (err) {
      failSpan(span, err)
      throw err
    } finally {
      endClientSpan(span, status)
    }
  }
}

function parseUrl(href: string): URL | undefined {
  try {
    return new URL(href)
  } catch {
    return undefined
  }
}
