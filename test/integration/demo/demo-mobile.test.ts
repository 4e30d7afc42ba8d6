import { PassThrough } from 'node:stream'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort, startDemoStack, type DemoStack } from '../../../src/demo/stack.js'
import { DEMO_MOBILE_CLIENT_ID } from '../../../src/demo/mobile.js'
import { runMobileDemo } from '../../../scripts/demo-mobile/app.js'
import { completeProviderLogin, createBrowser } from '../../support/browser.js'

// `npm run demo:mobile` against `npm start`: the same demo stack in this process, and the test browser in the
// place of the human who opens the authorize URL.
let stack: DemoStack
let redirectUri: string
beforeAll(async () => {
  redirectUri = `http://127.0.0.1:${await freePort()}/callback`
  stack = await startDemoStack({ mobileRedirectUri: redirectUri, logLevel: 'warn' })
})
afterAll(() => stack.stop())

/** The system browser: the authorize URL, the provider's pages as bob, the broker's callback; returns the app redirect. */
async function systemBrowser(authorizeUrl: string): Promise<string> {
  const browser = createBrowser()
  const start = await browser.get(authorizeUrl)
  expect(start.status).toBe(302)
  const callback = await completeProviderLogin(browser, start.location!, { login: 'bob', password: 'bob' })
  const back = await browser.get(callback, { site: 'cross-site' })
  expect(back.status).toBe(302)
  return back.location!
}

describe('npm run demo:mobile', () => {
  it('when the browser follows the redirect to the loopback listener, then the app redeems the code, calls /bff/user and the demo API with DPoP, sees a replayed proof refused, and logs out', async () => {
    const lines: string[] = []
    const result = await runMobileDemo({
      brokerUrl: stack.url,
      redirectUri,
      log: (line) => lines.push(line),
      open: async (url) => {
        const browser = createBrowser()
        const landed = await browser.get(await systemBrowser(url))
        expect(landed.status).toBe(200)
        expect(landed.body).toContain('Signed in')
      },
    })
    expect(result).toMatchObject({
      sub: 'bob',
      tokenType: 'DPoP',
      statuses: { user: 200, api: 200, replay: 401, logout: 204, afterLogout: 401 },
    })
    const reached = stack.api.requests.filter((r) => r.sub === 'bob')
    expect(reached).toHaveLength(1)
    expect(reached[0]!.authorization).toMatch(/^Bearer /)
    expect(lines.some((line) => line.includes(`client_id=${DEMO_MOBILE_CLIENT_ID}`))).toBe(true)
    expect(lines.join('\n')).toContain('invalid_dpop_proof')
    expect(lines).toHaveLength(12)
  })

  it('when the redirect URL is pasted instead, then the login completes the same way and no output line holds the handle or the code', async () => {
    const lines: string[] = []
    const input = new PassThrough()
    let redirect = ''
    const result = await runMobileDemo({
      brokerUrl: stack.url,
      redirectUri,
      log: (line) => lines.push(line),
      pasted: createInterface({ input, terminal: false }),
      open: async (url) => {
        redirect = await systemBrowser(url)
        input.write(`not a url\n  ${redirect}  \n`)
      },
    })
    expect(result.statuses).toEqual({ user: 200, api: 200, replay: 401, logout: 204, afterLogout: 401 })
    expect(result.handlePrefix).toMatch(/^bffm_[\w-]{6}…$/)
    const code = new URL(redirect).searchParams.get('code')!
    const output = lines.join('\n')
    expect(output).not.toContain(code)
    expect(output).not.toMatch(/bffm_[\w-]{7}/)
    input.end()
  })
})
