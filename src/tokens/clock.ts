/** Wall-clock time for token expiry decisions; tests substitute one to reach expiry edges without waiting. */
export interface Clock {
  /** epoch milliseconds */
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }
