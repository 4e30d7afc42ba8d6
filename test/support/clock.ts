import type { Clock } from '../../src/tokens/clock.js'

/** A clock a test moves instead of sleeping (the broker's `Clock` port, src/tokens/clock.ts). */
export interface TestClock extends Clock {
  advance(ms: number): void
}

/** Starts at the real time (Redis TTLs are real), then moves only when a test says so. */
export function createTestClock(): TestClock {
  let t = Date.now()
  return { now: () => t, advance: (ms) => void (t += ms) }
}

/**
 * The real time plus whatever the test advanced: for a whole broker, whose Redis TTLs, provider and once-per-second
 * bookkeeping (session touches) keep running in real time while its own deadlines are reached at once.
 */
export function createOffsetClock(): TestClock & { /** back to the real time */ reset(): void } {
  let offset = 0
  return { now: () => Date.now() + offset, advance: (ms) => void (offset += ms), reset: () => void (offset = 0) }
}
