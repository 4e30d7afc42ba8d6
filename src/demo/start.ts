import { createServer } from 'node:net'
import { startDemoStack } from './stack.js'

/**
 * `npm start` without BFF_CONFIG (outside production): the self-contained demo on localhost. Fresh random secrets
 * every run, so nothing here is a credential worth keeping; sessions in Redis when REDIS_URL is set.
 */
export async function startDemo(env: NodeJS.ProcessEnv): Promise<void> {
  const began = Date.now()
  const port = env.PORT ? Number(env.PORT) : 3000
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    process.stderr.write(`PORT must be a port number (got ${env.PORT})\n`)
    process.exitCode = 1
    return
  }
  if (!(await portIsFree(port))) {
    process.stderr.write(`Port ${port} is in use (another demo still running?). Stop it, or choose another: PORT=3001 npm start\n`)
    process.exitCode = 1
    return
  }
  const redisUrl = env.REDIS_URL?.trim() || undefined
  if (!redisUrl) {
    process.stderr.write('Warning: REDIS_URL is not set, so sessions live in this process only. That is for the demo; production refuses to start without Redis.\n')
  }
  const logLevel = env.LOG_LEVEL === 'debug' || env.LOG_LEVEL === 'info' ? env.LOG_LEVEL : 'warn'
  const demo = await startDemoStack({ port, redisUrl, logLevel })
  const seconds = ((Date.now() - began) / 1000).toFixed(1)
  process.stdout.write(
    [
      '',
      `bff-broker demo is running (started in ${seconds} s). Open ${demo.url}/`,
      '  log in as alice/alice or bob/bob',
      `  identity provider: ${demo.idp.issuer}   demo API: ${demo.api.url} (behind ${demo.url}/api/demo)`,
      '  a mobile app with a DPoP-bound handle: npm run demo:mobile (in another terminal)',
      '  a background job acting for alice (after she logs in with "allow background access"), in another terminal:',
      `    DEMO_JOB_SECRET=${demo.jobSecret} npm run demo:job`,
      '    (that secret is fresh each start and is good for this demo only; the broker keeps just its hash)',
      '  Ctrl+C stops it. Run it with your own provider: BFF_CONFIG=config.yaml npm start (README.md)',
      '',
    ].join('\n') + '\n',
  )

  let stopping = false
  const stop = () => {
    if (stopping) return
    stopping = true
    demo.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`demo did not stop cleanly: ${err instanceof Error ? err.message : String(err)}\n`)
        process.exit(1)
      },
    )
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer()
    probe.once('error', () => resolve(false))
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)))
  })
}
