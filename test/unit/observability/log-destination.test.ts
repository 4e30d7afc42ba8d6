import { spawnSync } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { turnBatched } from '../../../src/observability/log-destination.js'

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))
const root = fileURLToPath(new URL('../../../', import.meta.url))

function recording() {
  const writes: string[] = []
  const proc = new EventEmitter()
  const dest = turnBatched({ write: (chunk: string) => writes.push(chunk) }, proc as unknown as NodeJS.Process)
  return { writes, proc, dest }
}

describe('turnBatched log destination', () => {
  it('when several lines are logged in one turn, then they reach the sink together, in order, once the turn ends', async () => {
    const { writes, dest } = recording()
    dest.write('{"n":1}\n')
    dest.write('{"n":2}\n')
    dest.write('{"n":3}\n')
    expect(writes).toEqual([])
    await nextTurn()
    expect(writes).toEqual(['{"n":1}\n{"n":2}\n{"n":3}\n'])
  })

  it('when lines are logged in two turns, then each turn is its own write and nothing is written twice', async () => {
    const { writes, dest } = recording()
    dest.write('a\n')
    await nextTurn()
    dest.write('b\n')
    dest.write('c\n')
    await nextTurn()
    await nextTurn()
    expect(writes).toEqual(['a\n', 'b\nc\n'])
  })

  it('when flushed, then the turn so far is written at once and the callback runs', async () => {
    const { writes, dest } = recording()
    dest.write('a\n')
    let called = false
    dest.flush(() => (called = true))
    expect(writes).toEqual(['a\n'])
    expect(called).toBe(true)
    await nextTurn()
    expect(writes).toEqual(['a\n'])
  })

  it('when the process exits, then the gathered lines are written at once and later lines go straight through', () => {
    const { writes, proc, dest } = recording()
    dest.write('before\n')
    proc.emit('exit', 0)
    expect(writes).toEqual(['before\n'])
    dest.write('during exit\n')
    expect(writes).toEqual(['before\n', 'during exit\n'])
  })

  // the real thing: the broker's logger on a real stdout, with the process ending in the turn that logged
  it.each([
    ['process.exit in the same turn', 'process.exit(3)', 3],
    ['an uncaught exception in the same turn', 'throw new Error("boom")', 1],
  ])('when a process logs and ends by %s, then every line is on its stdout', (_name, ending, status) => {
    const script = [
      "import { createLogger } from './src/observability/logger.ts'",
      "const logger = createLogger({ level: 'info' })",
      "for (let i = 0; i < 3; i++) logger.info({ event: 'test.line', i }, 'line')",
      ending,
    ].join('\n')
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 20_000 })
    expect(run.status).toBe(status)
    const lines = run.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { event: string; i: number })
    expect(lines.map((l) => [l.event, l.i])).toEqual([['test.line', 0], ['test.line', 1], ['test.line', 2]])
  })
})
