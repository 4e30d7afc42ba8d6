import { readFileSync } from 'node:fs'
import { extname } from 'node:path'
import { parseDocument } from 'yaml'
import { ConfigError } from './config-error.js'

/**
 * Reads the JSON or YAML file `BFF_CONFIG` names. Parse errors report a position only: the parsers' own
 * messages quote the offending line, which may hold a secret.
 */
export function readConfigFile(path: string | undefined): unknown {
  if (path === undefined || path === '') {
    throw new ConfigError(['BFF_CONFIG: required (path of the JSON or YAML config file)'])
  }
  const ext = extname(path).toLowerCase()
  if (ext !== '.json' && ext !== '.yaml' && ext !== '.yml') {
    throw new ConfigError([`BFF_CONFIG: must name a .json, .yaml or .yml file (got "${ext || 'no extension'}")`])
  }
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'read error'
    throw new ConfigError([`BFF_CONFIG: cannot read ${path} (${code})`])
  }
  return ext === '.json' ? parseJson(text) : parseYaml(text)
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch (err) {
    const position = /position (\d+)/.exec((err as Error).message)?.[1]
    throw new ConfigError([`BFF_CONFIG: invalid JSON${position === undefined ? '' : ` at character ${position}`}`])
  }
}

function parseYaml(text: string): unknown {
  // YAML 1.2 core schema: `on`/`yes` stay strings, duplicate keys are errors, alias expansion is capped
  const doc = parseDocument(text)
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((error) => {
        const at = error.linePos?.[0]
        return `BFF_CONFIG: invalid YAML (${error.code})${at === undefined ? '' : ` at line ${at.line}, column ${at.col}`}`
      }),
    )
  }
  return doc.toJS() as unknown
}
