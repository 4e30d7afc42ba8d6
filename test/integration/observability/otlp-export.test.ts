import { execFile } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { startBrokerWithProvider } from '../../support/start-app.js'

const root = join(import.meta.dirname, '../../..')

interface Export {
  contentType: string | undefined
  body: {
    resourceSpans: {
      resource: { attributes: { key: string; value: { stringValue?: string } }[] }
      scopeSpans: { spans: { name: string; kind: number; traceId: string; parentSpanId?: string }[] }[]
    }[]
  }
}

/** A tiny OTLP/HTTP receiver on loopback: POST /v1/traces with JSON bodies (OTLP "JSON Protobuf Encoding"). */
function startReceiver(): Promise<{ url: string; exports: Export[]; server: Server }> {
  const exports: Export[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') {
        exports.push({ contentType: req.headers['content-type'], body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Export['body'] })
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, exports, server })),
  )
}

describe('OTLP/HTTP export, configured by OTEL_* variables', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>
  beforeAll(async () => {
    receiver = await startReceiver()
  })
  afterAll(() => {
    vi.unstubAllEnvs()
    receiver.server.close()
  })

  it('when OTEL_TRACES_EXPORTER=otlp points at a receiver, then the broker exports its spans there as JSON under OTEL_SERVICE_NAME', async () => {
    vi.stubEnv('OTEL_TRACES_EXPORTER', 'otlp')
    vi.stubEnv('OTEL_EXPORTER_OTLP_ENDPOINT', receiver.url)
    vi.stubEnv('OTEL_SERVICE_NAME', 'bff-under-test')
    const bed = await startBrokerWithProvider({ name: 'otlp-export' })
    expect((await fetch(`${bed.broker.origin}/healthz?probe=1`)).status).toBe(200)
    expect(bed.broker.logs.some((l) => l.includes('"event":"bff.tracing_started"'))).toBe(true)
    await bed.stop() // shuts the SDK down, which sends what is buffered

    expect(receiver.exports.length).toBeGreaterThanOrEqual(1)
    expect(receiver.exports.every((e) => e.contentType?.startsWith('application/json'))).toBe(true)
    const resourceSpans = receiver.exports.flatMap((e) => e.body.resourceSpans)
    const serviceNames = resourceSpans.map((r) => r.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue)
    expect(new Set(serviceNames)).toEqual(new Set(['bff-under-test']))
    const names = resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans.map((span) => span.name)))
    expect(names).toContain('GET healthz')
    expect(names).toContain('GET discovery')
    // never the query string
    expect(JSON.stringify(receiver.exports)).not.toContain('probe')
  })
})

const run = promisify(execFile)

/** Imports the broker (server.ts) and tracing.ts in a fresh node, starts tracing, lists the OpenTelemetry modules loaded. */
async function loadedModules(env: Record<string, string>): Promise<{ exporters: string[]; loaded: string[] }> {
  const script = `
    import { createRequire } from 'node:module'
    await import('./src/server.ts')
    const { startTracing } = await import('./src/observability/tracing.ts')
    const { createLogger } = await import('./src/observability/logger.ts')
    const tracing = await startTracing({ logger: createLogger({ level: 'silent' }) })
    const loaded = Object.keys(createRequire(import.meta.url).cache)
      .filter((p) => p.includes('@opentelemetry')).map((p) => p.split('node_modules/').at(-1).split('/').slice(0, 2).join('/'))
    await tracing.shutdown()
    process.stdout.write(JSON.stringify({ exporters: tracing.exporters, loaded: [...new Set(loaded)] }))
    process.exit(0)
  `
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_')))
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    env: { ...clean, ...env },
    timeout: 30_000,
  })
  return JSON.parse(stdout) as { exporters: string[]; loaded: string[] }
}

describe('tracing off costs nothing', () => {
  it('when no OTEL_* variable is set, then the broker and tracing.ts load no OpenTelemetry SDK module (the API only)', async () => {
    const off = await loadedModules({})
    expect(off.exporters).toEqual([])
    expect(off.loaded).toContain('@opentelemetry/api')
    expect(off.loaded.filter((m) => m !== '@opentelemetry/api')).toEqual([])
  })

  it('when OTEL_TRACES_EXPORTER=console, then the same check sees the SDK loaded (the check can see it)', async () => {
    const on = await loadedModules({ OTEL_TRACES_EXPORTER: 'console' })
    expect(on.exporters).toEqual(['console'])
    expect(on.loaded).toEqual(expect.arrayContaining(['@opentelemetry/sdk-trace-node', '@opentelemetry/sdk-trace-base', '@opentelemetry/resources']))
    expect(on.loaded).not.toContain('@opentelemetry/exporter-trace-otlp-http')
  })
})
