import { createInterface } from 'node:readline'
import { MobileClientError } from '../examples/mobile-client.js'
import { runMobileDemo } from './demo-mobile/app.js'

// npm run demo:mobile: plays the demo's mobile app against `npm start` running in another terminal. The broker's
// URL is http://localhost:$PORT (3000), exactly the demo's publicUrl: DPoP proofs name it (htu) and the redirect's
// iss must equal it. BROKER_URL overrides it.
const brokerUrl = process.env.BROKER_URL ?? `http://localhost:${process.env.PORT ?? 3000}`
const lines = createInterface({ input: process.stdin, terminal: false })

try {
  const res = await fetch(new URL('/healthz', brokerUrl)).catch(() => undefined)
  if (!res?.ok) throw new Error(`no broker answers at ${brokerUrl}: start the demo first (npm start), or set BROKER_URL`)
  await runMobileDemo({ brokerUrl, log: (line) => process.stdout.write(`${line}\n`), pasted: lines })
  process.stdout.write('done.\n')
} catch (err) {
  const why = err instanceof MobileClientError ? `the login did not complete: ${err.message}` : err instanceof Error ? err.message : String(err)
  process.stderr.write(`demo:mobile: ${why}\n`)
  process.exitCode = 1
} finally {
  lines.close()
}
