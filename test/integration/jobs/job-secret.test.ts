import { describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../../', import.meta.url))

/** `npm run job:secret -- <args>` without npm's own output: the same command line package.json runs. */
function jobSecret(...args: string[]) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/job-secret.ts', ...args], { cwd: root, encoding: 'utf8' })
  return { status: run.status, stdout: run.stdout, stderr: run.stderr }
}

describe('npm run job:secret', () => {
  it('when given a valid id, then it prints a fresh 43-character secret, says it is shown once, and the YAML entry holds its SHA-256', () => {
    const run = jobSecret('nightly-report')
    expect(run.status, run.stderr).toBe(0)
    const secret = /^ {2}([A-Za-z0-9_-]{43})$/m.exec(run.stdout)?.[1]
    expect(secret).toBeDefined()
    expect(Buffer.from(secret ?? '', 'base64url')).toHaveLength(32)
    expect(run.stdout).toMatch(/shown once/)
    const hex = createHash('sha256').update(secret ?? '').digest('hex')
    expect(run.stdout).toContain(`  - id: nightly-report\n    secretHash: "sha256:${hex}"\n`)
  })

  it('when run twice, then the secrets differ', () => {
    const secretOf = (out: string) => /^ {2}([A-Za-z0-9_-]{43})$/m.exec(out)?.[1]
    expect(secretOf(jobSecret('a').stdout)).not.toBe(secretOf(jobSecret('a').stdout))
  })

  it.each([[[]], [['has space']], [['colon:id']], [['-x']], [['a', 'b']]])(
    'when the arguments are %j, then it exits 2 with the usage and prints no secret',
    (args) => {
      const run = jobSecret(...args)
      expect(run.status).toBe(2)
      expect(run.stderr).toMatch(/^usage: npm run job:secret -- <id>/)
      expect(run.stdout).toBe('')
    },
  )
})
