import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { tracingPlan } from '../../../src/observability/tracing.js'

const root = join(import.meta.dirname, '../../..')

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  )
}

describe('tracingPlan (which exporters OTEL_* asks for)', () => {
  it('when no OTEL_* variable is set, then tracing is off (unlike the SDK default of otlp)', () => {
    expect(tracingPlan({})).toEqual([])
    expect(tracingPlan({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SERVICE_NAME: 'x' })).toEqual([])
  })

  it('when OTEL_TRACES_EXPORTER names otlp and console, then both are used, in order, once', () => {
    expect(tracingPlan({ OTEL_TRACES_EXPORTER: ' OTLP, console,otlp' })).toEqual(['otlp', 'console'])
  })

  it('when OTEL_TRACES_EXPORTER is none or OTEL_SDK_DISABLED is true, then tracing is off', () => {
    expect(tracingPlan({ OTEL_TRACES_EXPORTER: 'none' })).toEqual([])
    expect(tracingPlan({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'true' })).toEqual([])
  })

  it('when an unsupported exporter or OTLP protocol is asked for, then startup fails naming the variable', () => {
    expect(() => tracingPlan({ OTEL_TRACES_EXPORTER: 'zipkin' })).toThrow(/OTEL_TRACES_EXPORTER: unsupported exporter zipkin/)
    expect(() => tracingPlan({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(/only http\/json/)
    expect(tracingPlan({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' })).toEqual(['otlp'])
  })
})

describe('who imports the OpenTelemetry SDK', () => {
  it('when the sources are scanned, then only observability/tracing.ts names an SDK package, and only in import() or import type', () => {
    const importers: string[] = []
    for (const file of sourceFiles(join(root, 'src'))) {
      const text = readFileSync(file, 'utf8')
      if (!/['"]@opentelemetry\/(?!api['"])/.test(text)) continue
      importers.push(relative(root, file))
      for (const line of text.split('\n').filter((l) => /['"]@opentelemetry\/(?!api['"])/.test(l))) {
        expect(line).toMatch(/^import type |import\('@opentelemetry\//)
      }
    }
    expect(importers).toEqual(['src/observability/tracing.ts'])
  })
})
