import type { IncomingMessage } from 'node:http'

/**
 * Calls `onIdle` once when a client's upload has not moved for about `idleMs` (between idleMs and 1.25 × idleMs)
 * while the proxy was ready for more. undici's headersTimeout does not cover that case: while it is writing a body
 * it waits for the body's next chunk indefinitely. Sampling the socket's byte count costs one timer per upload and
 * nothing per chunk. A paused body (the upstream is slow to read) or one not being read yet does not count as
 * idle: the upstream side's own timeouts apply there. Returns the function that stops the watch.
 */
export function watchUpload(req: IncomingMessage, idleMs: number, onIdle: () => void): () => void {
  const step = Math.max(10, Math.ceil(idleMs / 4))
  let seen = req.socket.bytesRead
  let idle = 0
  const timer = setInterval(() => {
    if (req.complete) return clearInterval(timer)
    const read = req.socket.bytesRead
    if (read !== seen || req.readableFlowing !== true) {
      seen = read
      idle = 0
      return
    }
    idle += step
    if (idle >= idleMs) {
      clearInterval(timer)
      onIdle()
    }
  }, step)
  return () => clearInterval(timer)
}
