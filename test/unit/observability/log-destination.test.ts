import { spawnSync } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { batchedLines, fdSink } from '../../../src/observability/log-destination.js'

const windowMs = 5
const windowEnd = () => new Promise<void>((resolve) => setTimeout(resolve, windowMs * 3))
const root = fileURLToPath(new URL('../../../', import.meta.url))

function recording() {
  const writes: string[] = []
  const proc = new EventEmitter()
  const dest = batchedLines({ write: (chunk: string) => writes.push(chunk) }, { proc: proc as unknown as NodeJS.Process, windowMs })
  return { writes, proc, dest }
}

/** a pipe that takes at most `room` bytes per write and refuses (EAGAIN) while `full`; `written` decodes all it took */
function fakePipe(room = Infinity) {
  const chunks: Buffer[] = []
  const pipe = { full: false, writes: 0, get written() { return Buffer.concat(chunks).toString('utf8') } }
  const write = (_fd: number, data: Buffer | string) => {
    pipe.writes++
    if (pipe.full) throw Object.assign(new Error('EAGAIN'), { code: 'EAGAIN' })
    const buffer = typeof data === 'string' ? Buffer.from(data) : data
    const n = Math.min(room, buffer.length)
    chunks.push(Buffer.from(buffer.subarray(0, n)))
    return n
  }
  return { pipe, write }
}

describe('fdSink: synchronous, ordered writes to stdout', () => {
  it('when the pipe takes only part of a write, then the rest follows at once, byte for byte (UTF-8 split anywhere)', () => {
    // 2-, 3- and 4-byte characters: some room size splits each of them between two writes
    const text = '{"sub":"ålice","city":"東京","mood":"🙂"}\n{"n":2}\n'
    for (let room = 1; room <= 24; room++) {
      const { pipe, write } = fakePipe(room)
      fdSink(1, write).write(text)
      expect(pipe.written, `room ${room}`).toBe(text)
    }
  })

  it('when the pipe is full, then the write returns at once, later lines queue behind, and all go out in order once it drains', async () => {
    const { pipe, write } = fakePipe()
    const sink = fdSink(1, write)
    pipe.full = true
    const started = Date.now()
    sink.write('a\n')
    sink.write('b\n')
    expect(Date.now() - started).toBeLessThan(50)
    expect(pipe.written).toBe('')
    pipe.full = false
    await new Promise((resolve) => setTimeout(resolve, 30))
    sink.write('c\n')
    expect(pipe.written).toBe('a\nb\nc\n')
  })

  it('when the process exits with lines held back by a full pipe, then flushSync waits for the reader and writes them', () => {
    const { pipe, write } = fakePipe()
    let refusals = 3
    const sink = fdSink(1, (fd, buffer) => (refusals-- > 0 ? (() => { throw Object.assign(new Error('EAGAIN'), { code: 'EAGAIN' }) })() : write(fd, buffer)))
    sink.write('held\n')
    sink.flushSync?.()
    expect(pipe.written).toBe('held\n')
  })

  it('when stdout is closed (EPIPE), then the lines are dropped and nothing throws', () => {
    const sink = fdSink(1, () => { throw Object.assign(new Error('EPIPE'), { code: 'EPIPE' }) })
    expect(() => sink.write('x\n')).not.toThrow()
    expect(() => sink.flushSync?.()).not.toThrow()
  })
})

describe('batchedLines log destination', () => {
  it('when several lines are logged in one window, then they reach the sink together, in order, once the window ends', async () => {
    const { writes, dest } = recording()
    dest.write('{"n":1}\n')
    await new Promise<void>((resolve) => setImmediate(resolve))
    dest.write('{"n":2}\n')
    dest.write('{"n":3}\n')
    expect(writes).toEqual([])
    await windowEnd()
    expect(writes).toEqual(['{"n":1}\n{"n":2}\n{"n":3}\n'])
  })

  it('when lines are logged in two windows, then each window is its own write and nothing is written twice', async () => {
    const { writes, dest } = recording()
    dest.write('a\n')
    await windowEnd()
    dest.write('b\n')
    dest.write('c\n')
    await windowEnd()
    await windowEnd()
    expect(writes).toEqual(['a\n', 'b\nc\n'])
  })

  it('when a window gathers 64 KB, then they are written at once, without waiting for its end', () => {
    const { writes, dest } = recording()
    const line = `${'x'.repeat(1023)}\n`
    for (let i = 0; i < 64; i++) dest.write(line)
    expect(writes).toEqual([line.repeat(64)])
  })

  it('when flushed, then the turn so far is written at once and the callback runs', async () => {
    const { writes, dest } = recording()
    dest.write('a\n')
    let called = false
    dest.flush(() => (called = true))
    expect(writes).toEqual(['a\n'])
    expect(called).toBe(true)
    await windowEnd()
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
    ['process.exit in the same turn', 'process.exit(3)', 3, 3],
    ['an uncaught exception in the same turn', 'throw new Error("boom")', 1, 3],
    // earlier turns' writes may still be in flight in the thread pool when the last turn exits
    ['process.exit after 2,000 lines over 20 turns', 'await many(); process.exit(0)', 0, 2003],
  ])('when a process logs and ends by %s, then every line is on its stdout, in order', (_name, ending, status, count) => {
    const script = [
      "import { createLogger } from './src/observability/logger.ts'",
      "const logger = createLogger({ level: 'info' })",
      "const many = async () => { for (let t = 0; t < 20; t++) { for (let i = 3; i < 103; i++) logger.info({ event: 'test.line', i: t * 100 + i }, 'line ' + 'x'.repeat(300)); await new Promise((r) => setImmediate(r)) } }",
      "for (let i = 0; i < 3; i++) logger.info({ event: 'test.line', i }, 'line')",
      ending,
    ].join('\n')
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 20_000 })
    expect(run.status).toBe(status)
    const lines = run.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { event: string; i: number })
    expect(lines.length).toBe(count)
    expect(lines.map((l) => l.i)).toEqual([...lines.map((l) => l.i)].sort((x, y) => x - y))
    expect(lines.every((l) => l.event === 'test.line')).toBe(true)
  })
})

describe('stdout destination over a real pipe whose reader stalls', () => {
  it('when the reader stops reading for a second, then the logging process keeps serving its event loop, and every line arrives in order once it reads again', async () => {
    const { spawn } = await import('node:child_process')
    const { mkdtempSync, rmSync } = await import('node:fs')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    const { buildSync } = await import('esbuild')
    // the logger as plain JavaScript run by plain node, as in production: a loader such as tsx makes stdout
    // non-blocking by itself, which would hide a write(2) that blocks the event loop
    const dir = mkdtempSync(join(tmpdir(), 'bff-log-pipe-'))
    const bundle = join(dir, 'logger.cjs')
    buildSync({ entryPoints: [join(root, 'src/observability/logger.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: bundle, logLevel: 'silent' })
    // the child logs ~8 MB over 40 turns while a 10 ms interval measures its event loop; it reports the longest gap
    const script = [
      `const { createLogger } = require(${JSON.stringify(bundle)})`,
      "const logger = createLogger({ level: 'info' })",
      'let last = Date.now(), worst = 0',
      'const tick = setInterval(() => { const now = Date.now(); worst = Math.max(worst, now - last); last = now }, 10)',
      'let t = 0',
      "const turn = () => { for (let i = 0; i < 100; i++) logger.info({ event: 'test.line', i: t * 100 + i }, 'x'.repeat(2000)); if (++t < 40) return setTimeout(turn, 25); clearInterval(tick); process.stderr.write(JSON.stringify({ worst }) + '\\n'); process.exit(0) }",
      'turn()',
    ].join('\n')
    try {
      const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
      let stderr = ''
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
      // nobody reads the child's stdout for a second: its pipe fills within the first turns
      child.stdout.pause()
      await new Promise((resolve) => setTimeout(resolve, 1000))
      const chunks: Buffer[] = []
      child.stdout.on('data', (d: Buffer) => chunks.push(d))
      child.stdout.resume()
      const status = await new Promise<number | null>((resolve) => child.on('close', resolve))
      expect(status, stderr).toBe(0)
      const { worst } = JSON.parse(stderr.trim().split('\n').at(-1) ?? '{}') as { worst: number }
      expect(worst).toBeLessThan(300)
      const lines = Buffer.concat(chunks).toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { i: number })
      expect(lines.map((l) => l.i)).toEqual(Array.from({ length: 4000 }, (_, i) => i))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 30_000)
})
