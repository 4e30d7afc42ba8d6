import { serveChild } from '../lib/ipc.js'
import { startUpstream } from '../../test/support/upstream.js'

// The tiny API every arm ends at: /small (~200 B JSON) and /64k (test/support/upstream.ts). It records each request
// it sees; the benchmark only reads none of that, so the record list is trimmed to keep memory flat.
await serveChild(async () => {
  const upstream = await startUpstream()
  const trim = setInterval(() => { upstream.requests.length = 0 }, 1000)
  return {
    info: { url: upstream.url },
    async stop() {
      clearInterval(trim)
      await upstream.stop()
    },
  }
})
