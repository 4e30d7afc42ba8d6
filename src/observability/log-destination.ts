import { fstatSync, writeSync } from 'node:fs'
import type { DestinationStream } from 'pino'

/** Where a window's lines go: fdSink on stdout, or anything with a `write`. */
export interface LineSink {
  write(chunk: string): unknown
  /** writes what the sink holds, synchronously (at exit) */
  flushSync?(): void
}

export interface BatchedDestination extends DestinationStream {
  /** writes what this window has gathered now (pino's `logger.flush()` calls it) */
  flush(cb?: (err?: Error) => void): void
}

/**
 * A log destination that hands the lines of a short window (10 ms by default, or 64 K characters, whichever comes first) to its
 * sink together, instead of one write per line. Under load a window completes many requests and so many audit lines
 * (`job.call`); one asynchronous write per line went through libuv's thread pool and cost the broker about as much
 * CPU as a job call's whole own work (bench/ab.ts measured 12–14 µs per call), and a write per event-loop turn still
 * carried only a line or two.
 *
 * When the process exits (process.exit, a fatal error, the end of the event loop) the lines still gathered go to the
 * sink and the sink is flushed synchronously; from then on every line is written at once. What ends the process
 * without an exit (SIGKILL, an out-of-memory abort, a native crash) loses the window in progress and what the sink
 * had not written yet. (main.ts turns a second SIGTERM/SIGINT into process.exit for this reason.)
 */
export function batchedLines(
  sink: LineSink,
  opts: { proc?: Pick<NodeJS.Process, 'once'>; windowMs?: number } = {},
): BatchedDestination {
  const windowMs = opts.windowMs ?? 10
  const proc = opts.proc ?? process
  let pending = ''
  let timer: NodeJS.Timeout | undefined
  let exiting = false
  const drain = () => {
    if (timer) clearTimeout(timer)
    timer = undefined
    if (pending === '') return
    const lines = pending
    pending = ''
    sink.write(lines)
  }
  proc.once('exit', () => {
    exiting = true
    drain()
    try {
      sink.flushSync?.()
    } catch {
      // nothing can be reported this late; a closed stdout is not the exit's business
    }
  })
  return {
    write(line: string) {
      if (exiting) {
        sink.write(line)
        return
      }
      pending += line
      if (pending.length >= maxPendingChars) drain()
      // unref'd: a process about to end does not wait for the window, its exit hook writes what is gathered
      else if (!timer) timer = setTimeout(drain, windowMs).unref()
    },
    flush(cb) {
      try {
        drain()
      } catch (err) {
        if (cb) return cb(err as Error)
        throw err
      }
      cb?.()
    },
  }
}

let stdout: BatchedDestination | undefined

/** a window's lines are written at once past this many characters */
const maxPendingChars = 64 * 1024

/** what a stuck log reader may make the process hold before lines are dropped */
const maxBacklogBytes = 16 * 1024 * 1024
const pause = new Int32Array(new SharedArrayBuffer(4))

const writeData = (fd: number, data: Buffer | string) => (typeof data === 'string' ? writeSync(fd, data) : writeSync(fd, data))

/**
 * Synchronous, ordered writes to a file descriptor that never stall the event loop on a full pipe: what a
 * non-blocking pipe refuses (EAGAIN, or a partial write) waits in a backlog, retried every few milliseconds, and
 * later lines queue behind it. (pino's SonicBoom sleeps 100 ms per EAGAIN in its synchronous mode, and in its
 * asynchronous mode a flush at exit can overtake the write still in flight.) Past 16 MB of backlog, new lines are
 * dropped rather than grow the process. Another error (a closed stdout) drops what is pending.
 */
export function fdSink(fd: number, write: (fd: number, data: Buffer | string) => number = writeData): LineSink {
  // what the pipe refused: `backlog` (its first part written already, maybe) and the chunks `held` behind it
  let backlog: Buffer | undefined
  let held: Buffer[] = []
  let backlogBytes = 0
  let retry: NodeJS.Timeout | undefined
  const takeHeld = () => {
    if (!backlog && held.length > 0) {
      backlog = held.length === 1 ? held[0] : Buffer.concat(held)
      held = []
    }
    if (!backlog) backlogBytes = 0
  }
  /** writes what it can of `chunk`; returns what is left (undefined: all written, or given up) */
  const attempt = (chunk: Buffer): Buffer | undefined => {
    let rest = chunk
    while (rest.length > 0) {
      try {
        const written = write(fd, rest)
        if (written <= 0) return rest
        rest = rest.subarray(written)
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === 'EAGAIN' ? rest : undefined
      }
    }
    return undefined
  }
  /** the usual case, a pipe with room: the text written as it is (no Buffer copy of it); the rest of it, if any */
  const attemptText = (text: string): Buffer | undefined => {
    let written: number
    try {
      written = write(fd, text)
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EAGAIN' ? Buffer.from(text) : undefined
    }
    return written === Buffer.byteLength(text) ? undefined : attempt(Buffer.from(text).subarray(Math.max(0, written)))
  }
  const pump = () => {
    retry = undefined
    for (;;) {
      backlog = backlog && attempt(backlog)
      if (backlog) break
      takeHeld()
      if (!backlog) return
    }
    backlogBytes = backlog.length + held.reduce((n, b) => n + b.length, 0)
    retry = setTimeout(pump, 5)
  }
  return {
    write(chunk) {
      if (backlog) {
        // a reader that lags: the held-back chunks are joined once, when the pipe takes them (not copied per turn)
        if (backlogBytes < maxBacklogBytes) {
          held.push(Buffer.from(chunk))
          backlogBytes += held.at(-1)!.length
        }
        return
      }
      backlog = attemptText(chunk)
      if (backlog) {
        backlogBytes = backlog.length
        if (!retry) retry = setTimeout(pump, 5)
      }
    },
    flushSync() {
      // at exit: wait for the reader, 1 ms at a time, for at most 2 s
      for (let tries = 0; tries < 2000; tries++) {
        takeHeld()
        if (!backlog) break
        backlog = attempt(backlog)
        if (backlog) Atomics.wait(pause, 0, 0, 1)
      }
      if (retry) clearTimeout(retry)
    },
  }
}

/**
 * The broker's standard output for logs: one per process (every logger of the process shares it, so one exit hook),
 * batched (batchedLines) and written synchronously, in order (fdSink).
 *
 * A pipe or socket is made non-blocking first, so that a stalled log reader gives EAGAIN (and a backlog) instead of
 * blocking the event loop in write(2): a process inherits its stdout pipe in blocking mode, and Node switches it to
 * non-blocking (O_NONBLOCK) when it opens `process.stdout` over it as a libuv stream, which reading the property does.
 */
export function stdoutDestination(): BatchedDestination {
  if (!stdout) {
    if (isPipeOrSocket(1)) void process.stdout
    stdout = batchedLines(fdSink(1))
  }
  return stdout
}

function isPipeOrSocket(fd: number): boolean {
  try {
    const stat = fstatSync(fd)
    return stat.isFIFO() || stat.isSocket()
  } catch {
    return false
  }
}
