import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * An attacker's page on another site. 127.0.0.2 is loopback too, but a different host from `localhost`, so the
 * browser treats it as cross-site (sites ignore ports: another port on the broker's host would be same-site).
 */
export interface CrossSitePage {
  url: string
  stop(): Promise<void>
}

export async function startCrossSitePage(host = '127.0.0.2'): Promise<CrossSitePage> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    res.end('<!DOCTYPE html><html lang="en"><title>Totally harmless page</title><h1>Win a prize!</h1>')
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, host, () => resolve())
  })
  return {
    url: `http://${host}:${(server.address() as AddressInfo).port}/`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
