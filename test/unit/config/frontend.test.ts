import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../../src/config/load.js'
import { problemsOf, validRaw } from './fixtures.js'

function builtApp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bff-frontend-config-'))
  writeFileSync(join(dir, 'index.html'), '<!doctype html>')
  return dir
}

describe('frontend config', () => {
  it('when frontend is absent, then the config has none (the broker answers 404 off its routes)', () => {
    expect(parseConfig(validRaw(), {}).frontend).toBeUndefined()
  })

  it('when frontend.static names a built app, then the config holds its absolute directory', () => {
    const dir = builtApp()
    const config = parseConfig({ ...validRaw(), frontend: { static: dir } }, {})
    expect(config.frontend).toEqual({ kind: 'static', directory: resolve(dir) })
  })

  it('when frontend.target and a contentSecurityPolicy are set, then both are kept', () => {
    const config = parseConfig({
      ...validRaw(), frontend: { target: 'http://localhost:5173', contentSecurityPolicy: "default-src 'self'" },
    }, {})
    expect(config.frontend).toMatchObject({ kind: 'target', contentSecurityPolicy: "default-src 'self'" })
    expect(config.frontend?.kind === 'target' && config.frontend.target.href).toBe('http://localhost:5173/')
  })

  it('when both static and target are set, or neither, then the error names the frontend key', () => {
    expect(problemsOf({ ...validRaw(), frontend: { static: builtApp(), target: 'http://localhost:5173' } }))
      .toContain('frontend: set only one of static, target')
    expect(problemsOf({ ...validRaw(), frontend: {} })).toContain('frontend: set one of static, target')
  })

  it('when frontend.static is missing or has no index.html, then the error names frontend.static', () => {
    const missing = join(tmpdir(), 'bff-frontend-no-such-dir')
    expect(problemsOf({ ...validRaw(), frontend: { static: missing } }))
      .toContain(`frontend.static: no such directory (${missing})`)
    const empty = mkdtempSync(join(tmpdir(), 'bff-frontend-empty-'))
    mkdirSync(join(empty, 'assets'))
    expect(problemsOf({ ...validRaw(), frontend: { static: empty } })).toContain(`frontend.static: ${empty} has no index.html`)
  })

  it('when frontend.target is the broker itself, or the CSP could split a header, then the key is named', () => {
    expect(problemsOf({ ...validRaw(), frontend: { target: 'https://app.example.com' } }))
      .toContain("frontend.target: must not be the broker's own publicUrl")
    const problems = problemsOf({ ...validRaw(), frontend: { static: builtApp(), contentSecurityPolicy: "default-src 'self'\r\nSet-Cookie: x=1" } })
    expect(problems.some((p) => p.startsWith('frontend.contentSecurityPolicy: '))).toBe(true)
    expect(problemsOf({ ...validRaw(), frontend: { target: 'ftp://localhost' } }).some((p) => p.startsWith('frontend.target: '))).toBe(true)
  })
})
