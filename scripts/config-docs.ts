import { readFileSync, writeFileSync } from 'node:fs'
import { configReference } from './config-reference.js'

// npx tsx scripts/config-docs.ts (from the repository root): writes docs/config-reference.md and the table between the markers in README.md
const reference = configReference()
writeFileSync('docs/config-reference.md', reference)
const readme = readFileSync('README.md', 'utf8')
const start = '<!-- config-reference:start -->'
const end = '<!-- config-reference:end -->'
const table = reference.slice(reference.indexOf('| key |'))
writeFileSync('README.md', readme.replace(new RegExp(`${start}[\\s\\S]*${end}`), `${start}\n${table.trimEnd()}\n${end}`))
