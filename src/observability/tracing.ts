import { diag, DiagLogLevel, type DiagLogFunction } from '@opentelemetry/api'
import type { SpanExporter } from '@opentelemetry/sdk-trace-node'
import type { Logger } from './logger.js'
import { LogEvents } from './log-events.js'
import { activeTracer } from './spans.js'

// The only importer of the OpenTelemetry SDK packages, and only through import(): with tracing off none of them is
// loaded, and the broker's spans go to the API's no-op tracer (observability/spans.ts skips them altogether).

export type TraceExporterName = 'otlp' | 'console'

export interface Tracing {
  /** the exporters in use; empty when tracing is off */
  exporters: readonly TraceExporterName[]
  /** ends the SDK: spans still buffered are sent first */
  shutdown(): Promise<void>
}

const exporterNames = new Set<string>(['otlp', 'console', 'none'])

/**
 * Which exporters the standard variables ask for (OpenTelemetry "SDK environment variables"). Unlike the SDK's own
 * default (otlp), tracing is off unless OTEL_TRACES_EXPORTER names an exporter: a broker exports nothing its operator
 * did not ask for. OTEL_SDK_DISABLED=true turns it off whatever else is set. OTLP goes over HTTP with JSON bodies
 * (OTLP/HTTP, "JSON Protobuf Encoding"); an other protocol is refused rather than silently sent as JSON.
 */
export function tracingPlan(env: NodeJS.ProcessEnv): TraceExporterName[] {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return []
  const names = (env.OTEL_TRACES_EXPORTER ?? '').split(',').map((n) => n.trim().toLowerCase()).filter(Boolean)
  const unknown = names.filter((n) => !exporterNames.has(n))
  if (unknown.length > 0) {
    throw new Error(`OTEL_TRACES_EXPORTER: unsupported exporter ${unknown.join(', ')} (otlp, console or none)`)
  }
  if (names.includes('none')) return []
  const exporters = [...new Set(names)] as TraceExporterName[]
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL)?.trim()
  if (exporters.includes('otlp') && protocol && protocol !== 'http/json') {
    throw new Error(`OTEL_EXPORTER_OTLP_PROTOCOL: ${protocol} is not supported, only http/json`)
  }
  return exporters
}

/**
 * Starts the OpenTelemetry SDK when OTEL_TRACES_EXPORTER (in process.env) asks for it; the SDK reads the other
 * OTEL_* variables from process.env itself (OTEL_EXPORTER_OTLP_ENDPOINT or _TRACES_ENDPOINT, _HEADERS, OTEL_SERVICE_NAME,
 * OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER, OTEL_BSP_*). Call it before the app is built: components ask for the
 * tracer once, when they are made. When a tracer provider is already registered (a test's), it is left alone.
 */
export async function startTracing(opts: { logger: Logger }): Promise<Tracing> {
  const exporters = tracingPlan(process.env)
  if (exporters.length === 0 || activeTracer()) return { exporters: [], shutdown: async () => undefined }
  const [sdk, resources] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/resources'),
  ])
  const spanExporters: SpanExporter[] = []
  if (exporters.includes('otlp')) {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http')
    spanExporters.push(new OTLPTraceExporter())
  }
  if (exporters.includes('console')) spanExporters.push(new sdk.ConsoleSpanExporter())
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over the broker's default name
  const resource = resources
    .defaultResource()
    .merge(resources.resourceFromAttributes({ 'service.name': 'bff-broker' }))
    .merge(resources.detectResources({ detectors: [resources.envDetector] }))
  const provider = new sdk.NodeTracerProvider({
    resource,
    spanProcessors: spanExporters.map((e) => new sdk.BatchSpanProcessor(e)),
  })
  // the W3C traceparent propagator and the AsyncLocalStorage context manager (spans nest across awaits)
  provider.register()
  routeDiagnostics(opts.logger)
  opts.logger.info({ event: LogEvents.tracingStarted, exporters }, 'tracing on')
  return { exporters, shutdown: () => withinMs(provider.shutdown(), shutdownWaitMs) }
}

// an unreachable collector must not hold the exit back past an orchestrator's grace period
const shutdownWaitMs = 5000

function withinMs(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms)
    timer.unref()
  })
  return Promise.race([work, late]).finally(() => clearTimeout(timer))
}

/** The SDK's own warnings (an unreachable collector …) as log lines: the message only, never its arguments. */
function routeDiagnostics(logger: Logger) {
  const warn: DiagLogFunction = (message) =>
    logger.warn({ event: LogEvents.tracingDiagnostic, detail: message }, 'tracing diagnostic')
  const ignore: DiagLogFunction = () => undefined
  diag.setLogger({ error: warn, warn, info: ignore, debug: ignore, verbose: ignore }, DiagLogLevel.WARN)
}
