import type { z } from 'zod'
import { keysUnder } from './schema-keys.js'

/** zod issues as problems that name their key: `apis[0].path: …`, one per unknown key. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.flatMap((issue) => {
    const at = formatPath(issue.path)
    if (issue.code === 'unrecognized_keys') {
      const known = keysUnder(formatPath(issue.path, true))
      return issue.keys.map((key) => `${join(at, key)}: unknown key${suggestion(key, known)}`)
    }
    return [`${at === '' ? 'config' : at}: ${issue.message}`]
  })
}

function join(at: string, key: string): string {
  return at === '' ? key : `${at}.${key}`
}

/** `['apis', 0, 'path']` → `apis[0].path`; with `anyIndex`, `apis[].path` (the schema-keys spelling). */
function formatPath(path: readonly PropertyKey[], anyIndex = false): string {
  return path.reduce<string>((at, part) => {
    if (typeof part !== 'number') return join(at, String(part))
    return anyIndex ? `${at}[]` : `${at}[${part}]`
  }, '')
}

/** Catches snake_case copied from OAuth docs (`client_id`) and small typos (`clientSecert`). */
function suggestion(key: string, known: readonly string[]): string {
  const plain = (s: string): string => s.toLowerCase().replace(/[-_]/g, '')
  const match =
    known.find((candidate) => plain(candidate) === plain(key)) ??
    known.find((candidate) => key.length > 3 && distance(plain(candidate), plain(key)) <= 2)
  return match === undefined ? '' : ` (did you mean ${match}?)`
}

/** Levenshtein distance, for short key names only. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution))
    }
    previous = current
  }
  return previous[b.length] ?? 0
}
