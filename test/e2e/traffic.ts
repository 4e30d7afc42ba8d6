import type { BrowserContext } from 'playwright-core'

export interface SeenResponse {
  url: string
  status: number
  /** all headers as JSON, Set-Cookie and Location included */
  headers: string
  body: string
}

export interface SentRequest {
  url: string
  navigation: boolean
  /** whether the request carried the session cookie */
  session: boolean
}

/**
 * Everything the browser received (bodies included, to search for tokens afterwards) and which requests carried the
 * session cookie (Playwright's allHeaders include the Cookie header the network stack added).
 */
export function recordTraffic(context: BrowserContext, sessionCookieName: string) {
  const responses: SeenResponse[] = []
  const requests: SentRequest[] = []
  context.on('response', (res) => {
    void (async () => {
      const body = await res.text().catch(() => '')
      const headers = await res.allHeaders().catch(() => ({}))
      responses.push({ url: res.url(), status: res.status(), headers: JSON.stringify(headers), body })
    })()
  })
  context.on('request', (req) => {
    void (async () => {
      const cookie = (await req.allHeaders().catch(() => ({}) as Record<string, string>)).cookie ?? ''
      const session = cookie.split('; ').some((c) => c.startsWith(`${sessionCookieName}=`))
      requests.push({ url: req.url(), navigation: req.isNavigationRequest(), session })
    })()
  })
  return { responses, requests }
}
