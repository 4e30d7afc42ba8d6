import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateDpopKey } from '../../../examples/mobile-client.js'
import { createDpopVerifier, DpopError } from '../../../src/mobile/dpop.js'
import { load } from '../../../bench/lib/load.js'
import { proofSource } from '../../../bench/lib/proofs.js'

// Arm E of npm run bench: pre-made proofs, one per request. A tiny server checks each one as the broker does
// (its own verifier, an in-memory replay record); the run itself is cut short by the pool, so it lasts well under a second.
const handle = `bffm_${'x'.repeat(43)}`
const seen: string[] = []
const refused: string[] = []
let server: Server
let origin: string
beforeAll(async () => {
  const jtis = new Set<string>()
  server = createServer((req, res) => {
    const verifier = createDpopVerifier({
      publicUrl: new URL(origin),
      clock: Date.now,
      replay: async (jti) => !jtis.has(jti) && Boolean(jtis.add(jti)),
    })
    seen.push(String(req.headers.dpop))
    verifier.verify({ proof: req.headers.dpop, method: req.method ?? '', path: req.url ?? '/', accessToken: handle }).then(
      () => res.end('ok'),
      (err: unknown) => {
        refused.push(err instanceof DpopError ? err.reason : String(err))
        res.writeHead(401).end()
      },
    )
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

describe('the DPoP arm of the proxy-overhead benchmark', () => {
  it('when a run uses pre-made proofs, then every request carries a different valid proof and the run stops before the pool runs dry', async () => {
    const proofs = await proofSource(await generateDpopKey(), handle).make(`${origin}/api/small?x=1`, 60)
    const result = await load({
      url: `${origin}/api/small`,
      connections: 2,
      seconds: 10,
      headers: { authorization: `DPoP ${handle}` },
      perRequest: { name: 'dpop', values: proofs, reserve: 12 },
    })
    expect(refused).toEqual([])
    expect(result.failed).toBe(0)
    expect(result.stoppedEarly).toBe(true)
    expect(result.seconds).toBeLessThan(10)
    expect(new Set(seen).size).toBe(seen.length)
    expect(seen.length).toBeLessThanOrEqual(proofs.length)
  })

  it('when the pool outlasts the run, then the run ends at its duration with every proof accepted once', async () => {
    const before = seen.length
    const proofs = await proofSource(await generateDpopKey(), handle).make(`${origin}/api/64k`, 5000)
    const result = await load({
      url: `${origin}/api/64k`,
      connections: 2,
      seconds: 0.3,
      headers: { authorization: `DPoP ${handle}` },
      perRequest: { name: 'dpop', values: proofs, reserve: 12 },
    })
    expect(result.failed).toBe(0)
    expect(result.stoppedEarly).toBe(false)
    expect(result.seconds).toBeLessThan(2)
    expect(refused).toEqual([])
    expect(new Set(seen.slice(before)).size).toBe(seen.length - before)
  })
})
