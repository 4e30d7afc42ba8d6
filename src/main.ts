import { loadConfig, ConfigError } from './config/load.js'
import { runConfigCheck } from './config/check.js'
import { startBroker } from './server.js'
import { createLogger } from './observability/logger.js'
import { LogEvents } from './observability/log-events.js'

async function main(): Promise<void> {
  if (process.argv.includes('--check-config')) {
    process.exitCode = runConfigCheck(process.env, process.stdout)
    return
  }
  if (!process.env.BFF_CONFIG && process.env.NODE_ENV !== 'production') {
    // the self-contained demo: nothing of it loads when a real config is given
    const { startDemo } = await import('./demo/start.js').catch((err: unknown) => {
      // after `npm prune --omit=dev` the demo's identity provider (a dev dependency) is gone; say what to do instead
      throw new Error(
        `the demo needs the dev dependencies (npm ci): ${err instanceof Error ? err.message : String(err)}. ` +
          'To run the broker, set BFF_CONFIG (and NODE_ENV=production): see README.md "Production"',
      )
    })
    await startDemo(process.env)
    return
  }
  let config
  try {
    config = loadConfig(process.env)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`)
      process.exit(1)
    }
    throw err
  }
  const logger = createLogger({ level: config.logLevel })
  const running = await startBroker(config, { logger })
  let stopping = false
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) {
      // a second signal during the drain ends the process at once, as the signal's default action would, but
      // through process.exit: the log lines gathered so far are written first (log-destination.ts)
      logger.warn({ event: LogEvents.stopForced, signal }, 'second signal: stopping without waiting for requests in flight')
      process.exit(1)
    }
    stopping = true
    running.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  }
  process.on('SIGTERM', shutdown)
  process.on('SIGINT', shutdown)
}

main().catch((err: unknown) => {
  process.stderr.write(`bff-broker failed to start: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
