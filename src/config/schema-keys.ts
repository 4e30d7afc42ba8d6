import { z } from 'zod'
import { configSchema } from './schema.js'

/** One documented key of the config file, from the schema's JSON Schema form. */
export interface SchemaKey {
  /** dotted path; array items as `apis[].path` */
  path: string
  description: string
  /** the value used when the key is absent, if any */
  default?: unknown
  required: boolean
  /** allowed values of an enum key */
  values?: readonly string[]
  /** the key holds an object of further keys */
  section: boolean
}

interface JsonNode {
  description?: string
  default?: unknown
  type?: string | string[]
  enum?: unknown[]
  properties?: Record<string, JsonNode>
  required?: string[]
  items?: JsonNode
}

let cached: readonly SchemaKey[] | undefined

/** Every key of the config file, parents before children, in schema order. */
export function schemaKeys(): readonly SchemaKey[] {
  // io 'input' documents the file as written: keys with defaults are optional there
  cached ??= walk(z.toJSONSchema(configSchema, { io: 'input' }) as JsonNode, '')
  return cached
}

function walk(node: JsonNode, prefix: string): SchemaKey[] {
  const keys: SchemaKey[] = []
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    const path = prefix === '' ? name : `${prefix}.${name}`
    const nested = child.items?.properties !== undefined ? child.items : child
    keys.push({
      path,
      description: child.description ?? '',
      ...(child.default !== undefined && { default: child.default }),
      required: node.required?.includes(name) ?? false,
      ...(child.enum !== undefined && { values: child.enum.map(String) }),
      section: nested.properties !== undefined,
    })
    if (nested.properties !== undefined) {
      keys.push(...walk(nested, nested === child ? path : `${path}[]`))
    }
  }
  return keys
}

/** The keys allowed directly under `parent` (`''` for the top level, `apis[]` for an API entry). */
export function keysUnder(parent: string): string[] {
  const depth = parent === '' ? 0 : parent.split('.').length
  return schemaKeys()
    .filter((key) => (parent === '' ? !key.path.includes('.') : key.path.startsWith(`${parent}.`)))
    .map((key) => key.path.split('.').slice(depth).join('.'))
    .filter((rest) => rest !== '' && !rest.includes('.'))
}
