import { athFor, makeProof, type DpopKey } from '../../examples/mobile-client.js'

// DPoP proofs for arm E of bench/proxy-overhead.ts, made in the load generator before each run, never in the
// measured process: each has its own jti (the broker's replay record refuses a second use, RFC 9449 §11.1) and an
// iat of when it was made, a few seconds before it is sent (well inside the broker's 60 s window).

export interface ProofSource {
  /** `count` fresh proofs for GET `url` with this handle (htu is the URL without query, RFC 9449 §4.2) */
  make(url: string, count: number): Promise<string[]>
}

export function proofSource(key: DpopKey, handle: string): ProofSource {
  const ath = athFor(handle)
  return {
    async make(url, count) {
      const htu = new URL(url)
      htu.search = ''
      const proofs: string[] = []
      // in batches: thousands of pending WebCrypto signatures at once only cost memory
      for (let done = 0; done < count; done += 1000) {
        const batch = Math.min(1000, count - done)
        proofs.push(...(await Promise.all(Array.from({ length: batch }, () => makeProof(key, { htm: 'GET', htu: htu.href, ath })))))
      }
      return proofs
    },
  }
}

/**
 * How many proofs a run may need: 1.5 × the fastest rate seen so far for this case (a first guess before any), plus
 * a reserve for the requests in flight when the pool runs low and the run stops.
 */
export function proofBudget(seconds: number, connections: number, fastestRps: number | undefined): { count: number; reserve: number } {
  const rate = fastestRps ?? (connections > 1 ? 6000 : 3000)
  const reserve = 4 * connections + 16
  return { count: Math.ceil(rate * 1.5 * seconds) + reserve, reserve }
}
