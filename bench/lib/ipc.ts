import { fork, type ChildProcess } from 'node:child_process'
import { closeSync, mkdtempSync, openSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// Benchmark servers run in child processes so each one's CPU can be read on its own (process.cpuUsage over IPC).
// Protocol: the child sends {type: 'ready', info} once listening; the parent asks {id, type: 'cpu' | 'stop'} and the
// child answers {id, ...}.

export interface CpuSample {
  /** user + system CPU time of the child, µs */
  cpuUs: number
}

interface Request {
  id: number
  type: 'cpu' | 'stop'
}

/** Child side: start the server, announce it, answer CPU probes, stop on request. */
export async function serveChild<Info>(start: () => Promise<{ info: Info; stop(): Promise<void> }>): Promise<void> {
  const send = (message: unknown) => process.send?.(message)
  let running: { info: Info; stop(): Promise<void> }
  try {
    running = await start()
  } catch (err) {
    send({ type: 'failed', error: err instanceof Error ? err.stack : String(err) })
    process.exit(1)
  }
  process.on('message', (message: Request) => {
    if (message.type === 'cpu') {
      const { user, system } = process.cpuUsage()
      send({ id: message.id, cpuUs: user + system })
    } else if (message.type === 'stop') {
      void running.stop().finally(() => {
        send({ id: message.id })
        // --cpu-prof writes its profile on a normal exit
        setImmediate(() => process.exit(0))
      })
    }
  })
  // the parent went away (Ctrl-C, crash): do not linger
  process.on('disconnect', () => process.exit(0))
  send({ type: 'ready', info: running.info })
}

export interface Child<Info> {
  name: string
  pid: number
  info: Info
  cpuUs(): Promise<number>
  stop(): Promise<void>
}

let logDir: string | undefined
/** Where children's stdout/stderr go (one file per child), so a failing server can be read afterwards. */
export function childLogDir(): string {
  return (logDir ??= mkdtempSync(join(tmpdir(), 'bff-bench-')))
}

/** Forks `script` (TypeScript, through tsx) with `env` and waits for its 'ready'. */
export async function startChild<Info>(
  name: string,
  script: string,
  env: Record<string, string>,
  opts: { cpuProf?: boolean; /** further node flags (V8's too: --max-semi-space-size, --trace-gc) */ execArgv?: readonly string[] } = {},
): Promise<Child<Info>> {
  const execArgv = ['--import', 'tsx', ...(opts.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${childLogDir()}`] : []), ...(opts.execArgv ?? [])]
  // the child writes its log file itself: through a pipe, this process (the load generator) would be pumping a
  // broker's audit lines while it measures, and a slow reader makes the child's writes dearer than in production
  const log = openSync(join(childLogDir(), `${name}.log`), 'a')
  const child: ChildProcess = fork(script, [], {
    execArgv,
    env: { ...process.env, ...env },
    stdio: ['ignore', log, log, 'ipc'],
  })
  closeSync(log)
  let nextId = 1
  const pending = new Map<number, (m: Record<string, unknown>) => void>()
  const info = await new Promise<Info>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: not ready after 30 s (log: ${join(childLogDir(), `${name}.log`)})`)), 30_000)
    child.on('message', (m: Record<string, unknown>) => {
      if (m.type === 'ready') { clearTimeout(timer); resolve(m.info as Info) }
      else if (m.type === 'failed') { clearTimeout(timer); reject(new Error(`${name} failed to start: ${String(m.error)}`)) }
      else if (typeof m.id === 'number') { pending.get(m.id)?.(m); pending.delete(m.id) }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${name} exited with ${code} before it was ready`)) })
  })
  const ask = (type: Request['type']) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const id = nextId++
      pending.set(id, resolve)
      child.send({ id, type })
    })
  return {
    name,
    pid: child.pid ?? 0,
    info,
    async cpuUs() {
      return Number((await ask('cpu')).cpuUs)
    },
    async stop() {
      if (child.exitCode !== null || !child.connected) return
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await ask('stop').catch(() => undefined)
      await exited
      clearTimeout(killer)
    },
  }
}
