// autocannon 8 ships no type declarations: the little the benchmarks use
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events'

  export interface Options {
    url: string
    connections?: number
    duration?: number
    pipelining?: number
    headers?: Record<string, string>
    timeout?: number
    excludeErrorStats?: boolean
    /** requests in all, spread over the connections; then `duration` is ignored */
    amount?: number
    /** ms between samples (default 1000); stop() takes effect at the next one */
    sampleInt?: number
    /** setupRequest returns the request to send next (a falsy value restarts the list) */
    requests?: Array<{ method?: string; setupRequest?: (req: { headers?: Record<string, string> }) => unknown }>
  }

  export interface Result {
    requests: { average: number; total: number }
    latency: { p50: number; p99: number }
    errors: number
    timeouts: number
    non2xx: number
    duration: number
  }

  /** 'response' gives (client, statusCode, bytes, responseTimeMs) with sub-millisecond precision */
  export type Instance = EventEmitter & { stop(): void }

  export default function autocannon(opts: Options, cb: (err: Error | null, result: Result) => void): Instance
}
