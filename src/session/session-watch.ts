import type { Duplex } from 'node:stream'
import type { Logger } from '../observability/logger.js'
import { LogEvents } from '../observability/log-events.js'
import type { Clock } from '../tokens/clock.js'
import type { HttpSession } from './http-session.js'

/**
 * Ties each open WebSocket tunnel to its session. A tunnel is authorised once, at the handshake; without this it
 * would carry data after logout, back-channel logout, revocation or the session's timeouts.
 *
 * - This instance ending a session (SessionLifecycle.end) cuts its tunnels here at once.
 * - Every `intervalMs`, one round trip asks the store which watched sessions still exist and the tunnels of the
 *   others are cut: a logout on another instance reaches this one within an interval, and nothing is cached.
 * - A tunnel is also cut at the earlier of its route's `websocketMaxLifetimeSeconds` and its session's absolute
 *   timeout, checked at the same interval (a local check, so it holds while the store is down).
 * - A check the store cannot answer keeps every tunnel (the store being down is not a logout), is logged, and the
 *   next check decides.
 *
 * A tunnel is cut by destroying the client socket (the tunnel then closes the upstream one), not with a close frame
 * (RFC 6455 §7.4.1, 1008 policy violation): the bytes are piped without parsing frames, so there is no frame
 * boundary at which one could be inserted without corrupting the stream. The browser sees 1006; its reconnect then
 * meets the handshake's session check (401).
 */
export interface SessionWatch {
  /** watches an open tunnel; `session` is absent on anonymous routes (only the lifetime applies then) */
  add(socket: Duplex, maxLifetimeSeconds: number, session?: { id: string; expiresAt: number }): void
  /** this instance ended the session: its tunnels here are cut now */
  ended(sessionId: string): void
  /** one check; the timer runs it every interval (exposed so tests need not wait for the timer) */
  sweep(): Promise<void>
  /** stops the timer; the tunnels themselves are cut by the proxy's close */
  stop(): void
}

type CloseReason = 'session_ended' | 'max_lifetime' | 'absolute_timeout'

interface Watched {
  sessionId?: string
  closeAt: number
  deadline: CloseReason
}

export function createSessionWatch(deps: {
  sessions: Pick<HttpSession, 'exists'>
  clock: Clock
  logger: Logger
  intervalMs: number
}): SessionWatch {
  const tunnels = new Map<Duplex, Watched>()
  const bySession = new Map<string, Set<Duplex>>()
  let running: Promise<void> | undefined

  function forget(socket: Duplex) {
    const watched = tunnels.get(socket)
    if (!watched) return
    tunnels.delete(socket)
    if (watched.sessionId === undefined) return
    const sockets = bySession.get(watched.sessionId)
    sockets?.delete(socket)
    if (sockets?.size === 0) bySession.delete(watched.sessionId)
  }

  function cut(socket: Duplex, reason: CloseReason) {
    forget(socket)
    // never the session id: it is the cookie's secret
    deps.logger.info({ event: LogEvents.websocketTunnelClosed, reason }, 'websocket tunnel closed')
    socket.destroy()
  }

  function ended(sessionId: string) {
    for (const socket of [...(bySession.get(sessionId) ?? [])]) cut(socket, 'session_ended')
  }

  async function check() {
    const now = deps.clock.now()
    for (const [socket, watched] of [...tunnels]) if (watched.closeAt <= now) cut(socket, watched.deadline)
    const ids = [...bySession.keys()]
    if (ids.length === 0) return
    let alive: boolean[]
    try {
      alive = await deps.sessions.exists(ids)
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      deps.logger.warn(
        { event: LogEvents.websocketSessionCheckFailed, tunnels: tunnels.size, err: message },
        'could not check the sessions of open websocket tunnels; they stay open until a check succeeds',
      )
      return
    }
    ids.forEach((id, i) => { if (alive[i] === false) ended(id) })
  }

  // one check at a time: a slow store must not pile checks up
  const sweep = () => (running ??= check().finally(() => { running = undefined }))

  const timer = setInterval(() => {
    sweep().catch((err: unknown) =>
      deps.logger.error({ event: LogEvents.websocketSessionCheckFailed, err: String(err) }, 'websocket session check failed'),
    )
  }, deps.intervalMs)
  // the timer must not keep the process alive at shutdown (BrokerApp.close() stops it too)
  timer.unref()

  return {
    add(socket, maxLifetimeSeconds, session) {
      if (socket.destroyed) return
      const lifetimeEnd = deps.clock.now() + maxLifetimeSeconds * 1000
      const sessionFirst = session !== undefined && session.expiresAt < lifetimeEnd
      tunnels.set(socket, {
        sessionId: session?.id,
        closeAt: sessionFirst ? session.expiresAt : lifetimeEnd,
        deadline: sessionFirst ? 'absolute_timeout' : 'max_lifetime',
      })
      if (session) {
        const sockets = bySession.get(session.id) ?? new Set<Duplex>()
        bySession.set(session.id, sockets.add(socket))
      }
      socket.once('close', () => forget(socket))
    },
    ended,
    sweep,
    stop: () => clearInterval(timer),
  }
}
