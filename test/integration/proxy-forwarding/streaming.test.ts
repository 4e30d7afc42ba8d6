import { createHash } from 'node:crypto'
import http from 'node:http'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { patternSha256, startUpstream, type Upstream } from '../../support/upstream.js'
import { apiRoute, startProxyApp, type ProxyApp } from './proxy-app.js'

const size = 200 * 1024 * 1024
const warmUp = 20 * 1024 * 1024
// well under the 200 MB moved (a proxy that buffered would grow by all of it); Node 26's allocator under a parallel
// suite peaked at 57 MB once, so the bound leaves room for the runtime's own buffers
const maxRssGrowth = 80 * 1024 * 1024

let upstream: Upstream
let app: ProxyApp

beforeAll(async () => {
  upstream = await startUpstream()
  app = await startProxyApp([apiRoute('/api/up', upstream.url, { timeoutMs: 60_000 })])
})
afterAll(async () => {
  await app?.close()
  await upstream?.stop()
})

/**
 * Samples this process's RSS until stopped and returns the peak growth. Client, broker and upstream all live in
 * this process, and the first few MB through any socket grow the heap and allocator arenas to their working size
 * (about 60-70 MB here, the same for 50 MB as for 1 GB): each test warms the path up first, so what is measured is
 * whether memory grows with the body, which buffering would make it do.
 */
function watchRss() {
  const baseline = process.memoryUsage().rss
  let peak = baseline
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss) }, 10)
  return () => {
    clearInterval(timer)
    peak = Math.max(peak, process.memoryUsage().rss)
    return peak - baseline
  }
}

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`

describe('proxy streaming', () => {
  const download = (n: number) =>
    new Promise<{ bytes: number; sha256: string }>((resolve, reject) => {
      http.get(`${app.url}/api/up/bytes/${n}`, (res) => {
        const hash = createHash('sha256')
        let bytes = 0
        res.on('data', (chunk: Buffer) => {
          hash.update(chunk)
          bytes += chunk.length
          // a client slower than the upstream: without back-pressure the broker would have to hold the difference
          if (bytes % (8 * 1024 * 1024) < chunk.length) {
            res.pause()
            setTimeout(() => res.resume(), 20)
          }
        })
        res.on('end', () => resolve({ bytes, sha256: hash.digest('hex') }))
        res.on('error', reject)
      }).on('error', reject)
    })

  it('when 200 MB are downloaded through the proxy, then every byte arrives and memory stays flat', async () => {
    await download(warmUp)
    const stop = watchRss()
    const { bytes, sha256 } = await download(size)
    const growth = stop()
    console.info(`download ${mb(size)}: peak RSS growth ${mb(growth)}`)
    expect(bytes).toBe(size)
    expect(sha256).toBe(patternSha256(size))
    expect(growth).toBeLessThan(maxRssGrowth)
  })

  const upload = (n: number) => {
    const chunk = Buffer.alloc(64 * 1024)
    const sent = createHash('sha256')
    let left = n
    let counter = 0
    const body = new Readable({
      read() {
        if (left <= 0) return void this.push(null)
        // varying content so a reordering or a dropped chunk changes the hash
        chunk.writeUInt32BE(counter++, 0)
        const piece = Buffer.from(chunk.subarray(0, Math.min(left, chunk.length)))
        left -= piece.length
        sent.update(piece)
        this.push(piece)
      },
    })
    const answer = new Promise<{ bytes: number; sha256: string }>((resolve, reject) => {
      const req = http.request(`${app.url}/api/up/upload`, { method: 'POST' }, (res) => {
        let text = ''
        res.setEncoding('utf8').on('data', (t: string) => { text += t })
        res.on('end', () => resolve(JSON.parse(text) as { bytes: number; sha256: string }))
      })
      req.on('error', reject)
      body.pipe(req)
    })
    return { answer, sent: () => sent.digest('hex') }
  }

  it('when 200 MB are uploaded chunked through the proxy, then the upstream hashes the same bytes and memory stays flat', async () => {
    await upload(warmUp).answer
    const stop = watchRss()
    const { answer, sent } = upload(size)
    const received = await answer
    const growth = stop()
    console.info(`upload ${mb(size)}: peak RSS growth ${mb(growth)}`)
    expect(received.bytes).toBe(size)
    expect(received.sha256).toBe(sent())
    expect(upstream.requests.at(-1)?.headers['transfer-encoding']).toBe('chunked')
    expect(growth).toBeLessThan(maxRssGrowth)
  })

  it('when the upstream streams server-sent events, then the client gets the first event before the second is sent', async () => {
    const arrivals = await new Promise<Array<{ at: number; text: string }>>((resolve, reject) => {
      const started = Date.now()
      const seen: Array<{ at: number; text: string }> = []
      http.get(`${app.url}/api/up/sse`, { headers: { accept: 'text/event-stream' } }, (res) => {
        expect(res.headers['content-type']).toBe('text/event-stream')
        res.setEncoding('utf8')
        res.on('data', (text: string) => seen.push({ at: Date.now() - started, text }))
        res.on('end', () => resolve(seen))
      }).on('error', reject)
    })
    const first = arrivals.find((a) => a.text.includes('data: first'))
    const second = arrivals.find((a) => a.text.includes('data: second'))
    expect(first).toBeDefined()
    expect(second).toBeDefined()
    expect(first?.text).not.toContain('second')
    // the upstream waits 300 ms between the two: the first must not have been held back until the second
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(250)
  })
})
