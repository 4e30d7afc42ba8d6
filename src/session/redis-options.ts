import { readFileSync } from 'node:fs'
import type { ConnectionOptions } from 'node:tls'
import type { ClusterOptions, RedisOptions } from 'ioredis'
import type { RedisConfig, RedisTlsConfig } from '../config/types.js'

/**
 * Request-path defaults: ioredis would otherwise queue commands while disconnected and retry for about a
 * minute. Here a command fails within ~2 s, nothing queues while the link is down, and reconnection goes on forever
 * in the background so the broker recovers by itself.
 */
export const requestPathOptions: RedisOptions = {
  commandTimeout: 2000,
  connectTimeout: 2000,
  maxRetriesPerRequest: 1,
  enableOfflineQueue: false,
  // commands issued in the same tick (the session and grant reads of one request, and those of concurrent
  // requests) share one socket write
  enableAutoPipelining: true,
  // after a demotion the old primary answers READONLY: reconnect (Sentinel then resolves the new primary); 1 = do not
  // resend the command, which fails with a 503 rather than waiting out the switch
  reconnectOnError: (err) => err.message.split(' ', 1)[0] === 'READONLY',
  // 200, 400, then every 500 ms: after a failover the link to the new primary is back within half a second of its
  // promotion (a 2 s cap added up to 2 s to the Sentinel failover's 503 window, test/integration/scale/)
  retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 500),
}

/** How to build the ioredis client for a config: pure data, so the options can be checked without connecting. */
export type RedisClientPlan =
  | { kind: 'single'; url: string; options: RedisOptions }
  | { kind: 'sentinel'; options: RedisOptions }
  | { kind: 'cluster'; nodes: Array<{ host: string; port: number }>; options: ClusterOptions }

/**
 * The same credentials and TLS reach the data nodes whichever topology: a single node, Sentinel's primary and
 * replicas, every Cluster node. Sentinels authenticate on their own (`redis.sentinel.username`/`password`).
 */
export function redisClientPlan(config: RedisConfig): RedisClientPlan {
  const tls = config.tls && tlsOptions(config.tls)
  const node: RedisOptions = {
    ...requestPathOptions,
    ...(config.username !== undefined && { username: config.username }),
    ...(config.password !== undefined && { password: config.password }),
    ...(tls && { tls }),
  }
  if (config.cluster) {
    return {
      kind: 'cluster',
      nodes: config.cluster.nodes.map(({ host, port }) => ({ host, port })),
      options: {
        redisOptions: node,
        enableOfflineQueue: false,
        // the Cluster object sends the commands: auto-pipelining is its option, not the nodes'
        enableAutoPipelining: true,
        clusterRetryStrategy: requestPathOptions.retryStrategy,
        // retryDelayOnFailover / retryDelayOnClusterDown (100 ms), maxRedirections (16) and slotsRefreshTimeout
        // (1 s) keep ioredis's defaults: under a primary's SIGKILL a command waits for the promoted replica within
        // the 2 s command timeout, and the failover tests show no 500 and a window set by cluster-node-timeout
      },
    }
  }
  if (config.sentinel) {
    const { name, nodes, username, password } = config.sentinel
    return {
      kind: 'sentinel',
      options: {
        ...node,
        name,
        sentinels: nodes.map(({ host, port }) => ({ host, port })),
        ...(username !== undefined && { sentinelUsername: username }),
        ...(password !== undefined && { sentinelPassword: password }),
        ...(tls && { enableTLSForSentinelMode: true, sentinelTLS: tls }),
      },
    }
  }
  if (!config.url) throw new Error('redis.url is required for the Redis store')
  // ioredis lets a URL's user and password win over the options, but redis.username/password (or REDIS_PASSWORD)
  // must win: the credentials move from the URL into the options
  const url = new URL(config.url.href)
  const username = config.username ?? (decodeURIComponent(url.username) || undefined)
  const password = config.password ?? (decodeURIComponent(url.password) || undefined)
  url.username = ''
  url.password = ''
  return {
    kind: 'single',
    url: url.href,
    options: { ...node, ...(username !== undefined && { username }), ...(password !== undefined && { password }) },
  }
}

function tlsOptions(tls: RedisTlsConfig): ConnectionOptions {
  return {
    ...(tls.ca !== undefined && { ca: readFileSync(tls.ca) }),
    ...(tls.servername !== undefined && { servername: tls.servername }),
    rejectUnauthorized: tls.rejectUnauthorized,
  }
}
