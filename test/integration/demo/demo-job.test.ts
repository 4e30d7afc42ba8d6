import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDemoStack, type DemoStack } from '../../../src/demo/stack.js'
import { runJobDemo } from '../../../scripts/demo-job/app.js'
import { completeProviderLogin, createBrowser, type Browser } from '../../support/browser.js'

// `npm run demo:job` against `npm start`: the same demo stack in this process, the test browser in the place of
// alice, who allows background access on the demo page's link.
let stack: DemoStack
beforeAll(async () => {
  stack = await startDemoStack({ logLevel: 'warn' })
})
afterAll(() => stack.stop())

const xhr = { xhr: true, headers: { 'x-csrf': '1' } }

/** alice follows the demo page's "allow background access" link through the provider's pages */
async function allowBackgroundAccess(): Promise<Browser> {
  const page = await createBrowser().get(`${stack.url}/`)
  expect(page.body).toContain('href="/bff/login?offline=1&amp;returnTo=/"')
  const browser = createBrowser()
  const start = await browser.get(`${stack.url}/bff/login?offline=1&returnTo=/`)
  expect(start.status).toBe(302)
  const callback = await completeProviderLogin(browser, start.location!, { login: 'alice', password: 'alice' })
  expect((await browser.get(callback, { site: 'cross-site' })).status).toBe(302)
  return browser
}

describe('npm run demo:job', () => {
  it('when alice has not allowed background access, then the job gets its token but 403 no_offline_grant for her, 400 without a user and 401 on /bff/user', async () => {
    const lines: string[] = []
    const result = await runJobDemo({ brokerUrl: stack.url, secret: stack.jobSecret, log: (line) => lines.push(line) })
    expect(result).toMatchObject({ statuses: { token: 200, onBehalf: 403, withoutUser: 400, user: 401 }, onBehalfError: 'no_offline_grant' })
    expect(lines.join('\n')).toContain('allow background access')
  })

  it('when alice allowed background access, then the job calls the demo API as her; the page lists her session and grant, and revoking it stops the job', async () => {
    const browser = await allowBackgroundAccess()
    const lines: string[] = []
    const result = await runJobDemo({ brokerUrl: stack.url, secret: stack.jobSecret, log: (line) => lines.push(line) })
    expect(result.statuses).toEqual({ token: 200, onBehalf: 200, withoutUser: 400, user: 401 })
    expect(stack.api.requests.at(-1)).toMatchObject({ sub: 'alice' })
    const output = lines.join('\n')
    expect(lines).toHaveLength(4)
    expect(output).not.toContain(stack.jobSecret)
    expect(output).not.toMatch(/bffj_[\w-]{7}/)
    expect(result.tokenPrefix).toMatch(/^bffj_[\w-]{6}…$/)

    const listing = JSON.parse((await browser.get(`${stack.url}/bff/sessions`, xhr)).body) as { sessions: Array<{ current: boolean }>; grants: Array<{ id: string }> }
    expect(listing.sessions.filter((s) => s.current)).toHaveLength(1)
    expect(listing.grants).toHaveLength(1)
    const other = await allowBackgroundAccess()
    const second = JSON.parse((await other.get(`${stack.url}/bff/sessions`, xhr)).body) as { grants: Array<{ id: string }> }
    expect(second.grants).toHaveLength(2)
    // oldest first: revoking the grant this very session runs on ends the session too
    for (const grant of second.grants.reverse()) {
      expect((await other.request(`${stack.url}/bff/grants/${grant.id}`, { method: 'DELETE', ...xhr })).status).toBe(204)
    }
    expect((await other.get(`${stack.url}/bff/user`, xhr)).status).toBe(401)
    const after = await runJobDemo({ brokerUrl: stack.url, secret: stack.jobSecret, log: () => undefined })
    expect(after.onBehalfError).toBe('no_offline_grant')
  })

  it('when the secret is wrong, then the demo says which secret to use and prints nothing of it', async () => {
    const lines: string[] = []
    const error = await runJobDemo({ brokerUrl: stack.url, secret: 'not-the-secret', log: (line) => lines.push(line) }).catch((e: unknown) => e)
    expect(String(error)).toContain('DEMO_JOB_SECRET')
    expect(String(error)).not.toContain('not-the-secret')
  })
})
