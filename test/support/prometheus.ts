// The Prometheus text exposition format (version 0.0.4), as much of it as tests read.

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

/** The samples of a scrape (comments skipped). */
export function samples(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)/.exec(line)
      if (!match) throw new Error(`not a Prometheus sample line: ${line}`)
      const labels: Record<string, string> = {}
      for (const [, key = '', value = ''] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key] = value
      return { name: match[1] ?? '', labels, value: Number(match[3]) }
    })
}

export const findSample = (all: Sample[], name: string, labels: Record<string, string>) =>
  all.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))

/** metric family name → type, from the `# TYPE` lines (a family is declared even before its first sample) */
export function families(text: string): Map<string, string> {
  const found = new Map<string, string>()
  for (const [, name = '', type = ''] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) found.set(name, type)
  return found
}

/**
 * Whether a series name a query uses is exported: a family's own name, a histogram's `_bucket`/`_sum`/`_count`
 * series (`_sum`/`_count` of a summary too), or the `_total` series of a counter declared without the suffix
 * (OpenMetrics style; prom-client keeps `_total` in the family name, so there it is an exact match).
 */
export function isExported(series: string, declared: Map<string, string>): boolean {
  if (declared.has(series)) return true
  const suffix = /_(bucket|sum|count|total)$/.exec(series)?.[1]
  if (!suffix) return false
  const type = declared.get(series.slice(0, -(suffix.length + 1)))
  if (suffix === 'bucket') return type === 'histogram'
  if (suffix === 'total') return type === 'counter'
  return type === 'histogram' || type === 'summary'
}
