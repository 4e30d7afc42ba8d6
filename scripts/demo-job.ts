import { JobDemoError, runJobDemo } from './demo-job/app.js'

// npm run demo:job: plays the demo's background job against `npm start` running in another terminal, which prints
// the job's secret (fresh each start): DEMO_JOB_SECRET=<it> npm run demo:job. BROKER_URL overrides the broker's URL.
const brokerUrl = process.env.BROKER_URL ?? `http://localhost:${process.env.PORT ?? 3000}`
const secret = process.env.DEMO_JOB_SECRET?.trim()

try {
  if (!secret) throw new JobDemoError('DEMO_JOB_SECRET is not set: npm start prints the line to run, DEMO_JOB_SECRET=… npm run demo:job')
  const res = await fetch(new URL('/healthz', brokerUrl)).catch(() => undefined)
  if (!res?.ok) throw new JobDemoError(`no broker answers at ${brokerUrl}: start the demo first (npm start), or set BROKER_URL`)
  await runJobDemo({ brokerUrl, secret, log: (line) => process.stdout.write(`${line}\n`) })
  process.stdout.write('done.\n')
} catch (err) {
  process.stderr.write(`demo:job: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = 1
}
