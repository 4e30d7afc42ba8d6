import autocannon from 'autocannon'

export interface LoadResult {
  /** 2xx responses per second */
  rps: number
  /** µs, from autocannon's per-response times (its own histogram rounds to whole ms) */
  p50Us: number
  p99Us: number
  /** 2xx responses */
  ok: number
  /** non-2xx answers, socket errors and timeouts */
  failed: number
  seconds: number
}

/**
 * A header whose value must differ on every request (a DPoP proof: unique jti, RFC 9449 §11.1), made before the run
 * so that no signing happens while it is measured. The run then sends at most `values.length - reserve` requests
 * (autocannon's `amount`; each connection builds one request ahead, so `reserve` must exceed the connections) and
 * ends at `seconds` or when they are sent, whichever comes first: no value is ever sent twice.
 */
export interface PerRequestHeader {
  name: string
  values: readonly string[]
  reserve: number
}

/** One autocannon run; latencies are collected from its 'response' events at sub-millisecond precision. */
export function load(opts: {
  url: string
  connections: number
  seconds: number
  headers: Record<string, string>
  perRequest?: PerRequestHeader
}): Promise<LoadResult & { stoppedEarly: boolean }> {
  let times = new Float64Array(1 << 16)
  let ok = 0
  let non2xx = 0
  const perRequest = opts.perRequest
  const amount = perRequest ? perRequest.values.length - perRequest.reserve : 0
  if (perRequest && perRequest.reserve <= opts.connections) throw new Error('perRequest.reserve must exceed the connections')
  let used = 0
  // autocannon calls setupRequest each time a connection builds its next request
  const requests = perRequest && [{
    method: 'GET',
    setupRequest: (req: { headers?: Record<string, string> }) => {
      const value = perRequest.values[used++]
      if (value === undefined) throw new Error('out of per-request header values: the reserve is too small')
      return { ...req, headers: { ...req.headers, [perRequest.name]: value } }
    },
  }]
  return new Promise((resolve, reject) => {
    // with `amount` autocannon ignores `duration`: this timer ends the run instead; a stop takes effect at the next
    // sample tick, so ticks come every 50 ms (they only sum counters)
    const timer = perRequest && setTimeout(() => instance.stop(), opts.seconds * 1000)
    const instance = autocannon(
      {
        url: opts.url, connections: opts.connections, duration: opts.seconds, headers: opts.headers, pipelining: 1, timeout: 10,
        ...(requests && { requests, amount, sampleInt: 50 }),
      },
      (err, result) => {
        clearTimeout(timer)
        if (err) return reject(err)
        const sorted = times.subarray(0, ok).sort()
        const at = (q: number) => (sorted.length ? (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number) * 1000 : NaN)
        resolve({
          rps: ok / result.duration,
          p50Us: at(0.5),
          p99Us: at(0.99),
          ok,
          failed: non2xx + result.errors + result.timeouts,
          seconds: result.duration,
          stoppedEarly: perRequest !== undefined && ok + non2xx >= amount,
        })
      },
    )
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, ms: number) => {
      if (statusCode < 200 || statusCode > 299) { non2xx++; return }
      if (ok === times.length) {
        const grown = new Float64Array(times.length * 2)
        grown.set(times)
        times = grown
      }
      times[ok++] = ms
    })
  })
}

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

/** Fisher–Yates with a seeded PRNG (mulberry32), so an order can be replayed with --seed. */
export function shuffler(seed: number) {
  let state = seed >>> 0
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return <T>(items: readonly T[]): T[] => {
    const out = [...items]
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1))
      const swap = out[i] as T
      out[i] = out[j] as T
      out[j] = swap
    }
    return out
  }
}

/** Left-aligned first column, right-aligned others. */
export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? []
  return rows
    .map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join('  '))
    .join('\n')
}
