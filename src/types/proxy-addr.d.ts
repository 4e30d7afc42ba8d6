// proxy-addr 2 (express's own dependency) ships no types: the two functions the broker's header code uses
declare module 'proxy-addr' {
  import type { IncomingMessage } from 'node:http'

  type Trust = (address: string, hop: number) => boolean
  interface ProxyAddr {
    (req: IncomingMessage, trust: Trust): string
    /** the socket's address first, then X-Forwarded-For from the right, cut after the first untrusted hop */
    all(req: IncomingMessage, trust?: Trust): string[]
    /** addresses, CIDR ranges and the names loopback, linklocal, uniquelocal → a trust function */
    compile(value: string | string[]): Trust
  }
  const proxyaddr: ProxyAddr
  export default proxyaddr
}
