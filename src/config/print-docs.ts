import { configReference } from './docs.js'

// npx tsx src/config/print-docs.ts > docs/config-reference.md
process.stdout.write(configReference())
