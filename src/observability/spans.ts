import {
  context,
  isValidSpanId,
  isValidTraceId,
  propagation,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Link,
  type Span,
  type SpanOptions,
  type Tracer,
} from '@opentelemetry/api'
import type { IncomingMessage, ServerResponse } from 'node:http'

// The broker's spans, over @opentelemetry/api only (observability/tracing.ts starts the SDK when OTEL_* asks for it).
// Attribute names follow the OpenTelemetry semantic conventions (HTTP, database). No span carries a URL, a query, a
// header, a Redis key or argument, a token, code, cookie value, handle or secret: only methods, route labels, hosts,
// status codes and error kinds.

export const tracerName = 'bff-broker'

/**
 * The tracer when an OpenTelemetry SDK is registered, else undefined: a component asks once, when it is built, and
 * with tracing off skips every tracing step (the hot path runs exactly as without tracing).
 */
export function activeTracer(): Tracer | undefined {
  const provider = trace.getTracerProvider()
  if (provider instanceof ProxyTracerProvider && !provider.getDelegateTracer(tracerName)) return undefined
  return trace.getTracer(tracerName)
}

/** Runs `fn` in an active span (what it calls nests under it); without a tracer, just runs it. */
export async function inSpan<T>(
  tracer: Tracer | undefined,
  name: string,
  options: SpanOptions,
  fn: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  if (!tracer) return fn(undefined)
  return tracer.startActiveSpan(name, options, async (span) => {
    try {
      return await fn(span)
    } catch (err) {
      failSpan(span, err)
      throw err
    } finally {
      span.end()
    }
  })
}

/** Marks a failure by its kind (error.type), never its message: messages may quote what a peer sent. */
export function failSpan(span: Span, err: unknown): void {
  const type = errorType(err)
  span.setAttribute('error.type', type)
  span.setStatus({ code: SpanStatusCode.ERROR, message: type })
}

function errorType(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown; cause?: { code?: unknown } } | null
  for (const code of [e?.code, e?.cause?.code]) {
    if (typeof code === 'string' && /^[\w.-]{1,64}$/.test(code)) return code
  }
  return typeof e?.name === 'string' && /^\w{1,64}$/.test(e.name) ? e.name : 'Error'
}

/** A client span to an HTTP peer, child of the active span; `url` only gives host and port. */
export function startClientSpan(tracer: Tracer, name: string, url: URL, method: string, extra: Attributes = {}): Span {
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80
  return tracer.startSpan(name, {
    kind: SpanKind.CLIENT,
    attributes: { 'http.request.method': method, 'server.address': url.hostname, 'server.port': port, ...extra },
  })
}

/** The HTTP status of a client span's answer; 4xx and 5xx are failures of a client call (HTTP semconv). */
export function endClientSpan(span: Span, status: number | undefined): void {
  if (status !== undefined) {
    span.setAttribute('http.response.status_code', status)
    if (status >= 400) {
      span.setAttribute('error.type', String(status))
      span.setStatus({ code: SpanStatusCode.ERROR })
    }
  }
  span.end()
}

/** W3C Trace Context headers naming `span` as the parent, as a flat [name, value, …] list. */
export function traceHeaders(span: Span): string[] {
  const out: string[] = []
  const setter = { set: (carrier: string[], key: string, value: string) => carrier.push(key, value) }
  propagation.inject(trace.setSpan(context.active(), span), out, setter)
  return out
}

/**
 * A server span per request, active while `run` handles it. Its name and http.route come later, from the route
 * label (nameServerSpan): the closed label set of the metrics, never the path.
 *
 * A client's traceparent is not trusted: the broker faces the public Internet, and a parent chosen by the caller
 * would let anyone pick trace ids (joining or polluting other traces) and the sampled flag (forcing every span of
 * every upstream to be recorded). So each request starts a new trace, and a well-formed client traceparent becomes
 * a span link (OpenTelemetry's advice for public endpoints), keeping the browser's trace one click away; its
 * tracestate is dropped. The proxy sends upstreams the broker's traceparent, never the client's.
 */
export function createServerSpans(tracer: Tracer) {
  return (req: IncomingMessage, res: ServerResponse, run: () => void): void => {
    const method = req.method ?? 'GET'
    const link = clientTraceLink(req.headers.traceparent)
    const span = tracer.startSpan(method, {
      kind: SpanKind.SERVER,
      root: true,
      attributes: { 'http.request.method': method },
      ...(link && { links: [link] }),
    })
    let ended = false
    const end = () => {
      if (ended) return
      ended = true
      if (res.headersSent) {
        span.setAttribute('http.response.status_code', res.statusCode)
        // a server span fails on 5xx only: a 4xx is the client's error (HTTP semconv)
        if (res.statusCode >= 500) failSpan(span, { code: String(res.statusCode) })
      }
      span.end()
    }
    res.once('finish', end)
    res.once('close', end)
    context.with(trace.setSpan(ROOT_CONTEXT, span), run)
  }
}

/** Names the request's server span after its route label (called where the request's metrics get it). */
export function nameServerSpan(method: string | undefined, route: string): void {
  const span = trace.getActiveSpan()
  if (!span) return
  span.setAttribute('http.route', route)
  span.updateName(`${method ?? 'GET'} ${route}`)
}

// W3C Trace Context §3.2: version 00, a 32-hex trace id and 16-hex parent id (not all zeros), 2-hex flags
const traceparentPattern = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/

function clientTraceLink(header: string | string[] | undefined): Link | undefined {
  const match = typeof header === 'string' ? traceparentPattern.exec(header.trim()) : null
  if (!match) return undefined
  const [, traceId = '', spanId = '', flags = '00'] = match
  if (!isValidTraceId(traceId) || !isValidSpanId(spanId)) return undefined
  return {
    context: { traceId, spanId, traceFlags: parseInt(flags, 16) & 1, isRemote: true },
    attributes: { 'bff.link.source': 'client' },
  }
}
