import { ConfigError, parseConfig } from '../../../src/config/load.js'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const secret32 = 's'.repeat(32)
export const key32 = 'k'.repeat(32)

/** A minimal valid config file, as parsed from JSON or YAML. */
export function validRaw(): Record<string, unknown> {
  return {
    publicUrl: 'https://app.example.com',
    redis: { url: 'redis://127.0.0.1:6379' },
    session: { secrets: [secret32] },
    tokens: { encryptionKeys: [key32] },
    provider: { issuer: 'https://idp.example.com', clientId: 'bff', clientSecret: 'file-secret' },
    apis: [{ path: '/api/orders', target: 'http://orders.internal:8080/v1' }],
  }
}

/** Writes `text` to a fresh temp directory and returns the file's path. */
export function writeTemp(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'bff-config-')), name)
  writeFileSync(path, text)
  return path
}

/** The problems `parseConfig` throws; fails when it does not throw. */
export function problemsOf(raw: unknown, env: NodeJS.ProcessEnv = {}): readonly string[] {
  try {
    parseConfig(raw, env)
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  throw new Error('expected a ConfigError')
}
