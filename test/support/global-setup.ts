import type { TestProject } from 'vitest/node'
import { startRedisServer } from './redis.js'

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string
  }
}

// One redis-server for the whole run (per project); test files keep apart through uniquePrefix().
// REDIS_URL wins so CI can point at a service container instead.
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.REDIS_URL
  if (external) {
    project.provide('redisUrl', external)
    return async () => {}
  }

  const server = await startRedisServer()
  project.provide('redisUrl', server.url)
  // Vitest calls the teardown even when tests fail; startRedisServer also kills on process exit.
  return () => server.stop()
}
