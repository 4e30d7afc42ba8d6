import { pino, type DestinationStream } from 'pino'

/** Where the lines of a turn go: anything with a synchronous `write` (pino's SonicBoom in sync mode on stdout). */
export interface LineSink {
  write(chunk: string): unknown
}

export interface TurnBatchedDestination extends DestinationStream {
  /** writes what this turn has gathered now (pino's `logger.flush()` calls it) */
  flush(cb?: (err?: Error) => void): void
}

/**
 * A log destination that writes the lines of one event-loop turn together, in one synchronous write when the turn
 * ends (setImmediate), instead of one write per line. Under load a turn completes many requests and so many audit
 * lines (`job.call`); one asynchronous write per line went through libuv's thread pool and cost the broker about as
 * much CPU as a job call's whole own work (bench/ab.ts measured 12–14 µs per call).
 *
 * What a crash can lose is at most the current turn's lines: when the process exits (process.exit, a fatal error,
 * the end of the event loop) the lines still gathered are written synchronously first, and from then on every line
 * is written at once. A SIGKILL loses the turn in progress, as it loses that turn's requests.
 */
export function turnBatched(sink: LineSink, proc: Pick<NodeJS.Process, 'once'> = process): TurnBatchedDestination {
  let pending = ''
  let scheduled = false
  let exiting = false
  const drain = () => {
    scheduled = false
    if (pending === '') return
    const lines = pending
    pending = ''
    sink.write(lines)
  }
  proc.once('exit', () => {
    exiting = true
    drain()
  })
  return {
    write(line: string) {
      if (exiting) {
        sink.write(line)
        return
      }
      pending += line
      if (!scheduled) {
        scheduled = true
        setImmediate(drain)
      }
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

let stdout: TurnBatchedDestination | undefined

/**
 * The broker's standard output for logs: one per process (every logger of the process shares it, so one exit hook),
 * batched per turn over pino's SonicBoom in synchronous mode (it finishes partial writes and retries EAGAIN on a
 * full pipe, like Node's own process.stdout on Linux, which writes pipes synchronously too).
 */
export function stdoutDestination(): TurnBatchedDestination {
  return (stdout ??= turnBatched(pino.destination({ dest: 1, sync: true })))
}
