// The few lines of fetch code a SPA behind the broker needs (the README's "What the SPA does" has the same rules):
// send X-CSRF: 1 (the broker refuses cookie-authenticated calls without it, which a cross-site page cannot add
// without a CORS preflight the broker never grants); only the broker's own 401 (JSON {error} "unauthorized" or
// "session_expired") means "log in", while an API's own 401 is that API's answer; the broker's 503 means "try again"
// (retried a few times); log out by navigating to the logoutUrl the broker hands out.

const $ = (id) => document.getElementById(id)
const loginCodes = ['unauthorized', 'session_expired']
const retryCodes = ['session_store_unavailable', 'idp_unavailable']
const retryDelaysMs = [500, 1000, 2000]

function brokerError(res, text) {
  if (!(res.headers.get('content-type') ?? '').startsWith('application/json')) return undefined
  const body = parse(text)
  return typeof body?.error === 'string' ? body.error : undefined
}

async function call(path, method = 'GET') {
  const headers = new Headers({ 'X-CSRF': '1', Accept: 'application/json' })
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(path, { method, headers })
    const text = await res.text()
    const error = brokerError(res, text)
    if (res.status === 503 && retryCodes.includes(error) && attempt < retryDelaysMs.length) {
      await new Promise((resolve) => setTimeout(resolve, retryDelaysMs[attempt]))
      continue
    }
    return { status: res.status, text, loginRequired: res.status === 401 && loginCodes.includes(error) }
  }
}

function parse(text) {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function storageDump(storage) {
  const entries = {}
  for (let i = 0; i < storage.length; i++) {
    const key = storage.key(i)
    entries[key] = storage.getItem(key)
  }
  return JSON.stringify(entries, null, 2)
}

let lastUserAnswer = '(not fetched yet)'

// what any script on this page (including an injected one) could read and send elsewhere
function showVisible() {
  const seen = {
    'seen-cookie': document.cookie === '' ? '(empty: the session cookie is HttpOnly)' : document.cookie,
    'seen-local': storageDump(localStorage),
    'seen-session': storageDump(sessionStorage),
    'seen-user': lastUserAnswer,
  }
  for (const [id, text] of Object.entries(seen)) $(id).textContent = text
  const tokenLike = /eyJ[\w-]+\.[\w-]+|access_token|refresh_token|id_token/
  const found = Object.values(seen).some((text) => tokenLike.test(text))
  $('token-verdict').textContent = found
    ? 'Warning: something that looks like a token is visible to this page.'
    : 'No token anywhere: no access, refresh or ID token is visible to this page.'
}

function show(section) {
  $('logged-in').hidden = section !== 'logged-in'
  $('logged-out').hidden = section !== 'logged-out'
}

async function callApi() {
  $('api-status').textContent = 'Calling…'
  const { status, text, loginRequired } = await call('/api/demo/orders')
  if (loginRequired) return loggedOut('Your session has ended; log in again.')
  $('api-status').textContent = `HTTP ${status}`
  const body = parse(text)
  $('api-answer').textContent = body ? JSON.stringify(body, null, 2) : text
  showVisible()
}

// the broker's times are epoch seconds
const when = (seconds) => new Date(seconds * 1000).toLocaleString()

function item(text, label, onClick) {
  const li = document.createElement('li')
  const span = document.createElement('span')
  span.textContent = text
  const button = document.createElement('button')
  button.type = 'button'
  button.className = 'secondary'
  button.textContent = label
  button.addEventListener('click', () => onClick().catch((err) => { $('admin-status').textContent = String(err) }))
  li.append(span, button)
  return li
}

// sign one session out (DELETE /bff/sessions/{id}) or revoke an offline grant (DELETE /bff/grants/{id}): 204
async function remove(path, current) {
  const { status, loginRequired } = await call(path, 'DELETE')
  if (current || loginRequired) return loggedOut('This session has ended.')
  $('admin-status').textContent = status === 204 ? 'Done.' : `The broker answered HTTP ${status}.`
  await loadSessions()
}

async function loadSessions() {
  const { status, text, loginRequired } = await call('/bff/sessions')
  if (loginRequired) return loggedOut('Your session has ended; log in again.')
  const body = parse(text)
  if (status !== 200 || !body) return void ($('admin-status').textContent = `GET /bff/sessions answered HTTP ${status}.`)
  $('sessions').replaceChildren(...body.sessions.map((s) => item(
    `${s.kind === 'mobile' ? `mobile app ${s.clientId ?? ''}` : `browser ${s.userAgent ?? ''}`}${s.current ? ' (this one)' : ''}, since ${when(s.createdAt)}, last used ${when(s.lastUsedAt)}`,
    'Sign out',
    () => remove(`/bff/sessions/${encodeURIComponent(s.id)}`, s.current),
  )))
  $('grants').replaceChildren(...body.grants.map((g) => item(
    `granted ${when(g.createdAt)}, last used ${when(g.lastUsedAt)}, scopes ${g.scopes.join(' ')}`,
    'Revoke',
    () => remove(`/bff/grants/${encodeURIComponent(g.id)}`, false),
  )))
  if (body.grants.length === 0) $('grants').replaceChildren(Object.assign(document.createElement('li'), { textContent: 'none: no job can act for you' }))
}

function loggedOut(message) {
  show('logged-out')
  $('status').textContent = message
  showVisible()
}

async function loadUser() {
  const { status, text, loginRequired } = await call('/bff/user')
  lastUserAnswer = `HTTP ${status}\n${text}`
  if (loginRequired) return loggedOut('You are not logged in.')
  const user = parse(text)
  if (status !== 200 || !user) {
    $('status').textContent = `The broker answered HTTP ${status}; try reloading.`
    return showVisible()
  }
  $('user-name').textContent = user.name ?? user.sub
  $('user-sub').textContent = user.sub
  $('user-email').textContent = user.email ?? '(none)'
  // epoch seconds, as in a JWT's exp
  $('user-expires').textContent = user.sessionExpiresAt ? new Date(user.sessionExpiresAt * 1000).toLocaleString() : '(unknown)'
  $('logout').dataset.url = user.logoutUrl
  show('logged-in')
  $('status').textContent = `Logged in as ${user.sub}.`
  showVisible()
  await callApi()
  await loadSessions()
}

$('login').addEventListener('click', () => {
  // a navigation, not a fetch: the login goes through the provider's pages and comes back here
  location.assign(`/bff/login?returnTo=${encodeURIComponent(location.pathname)}`)
})
$('logout').addEventListener('click', (event) => location.assign(event.currentTarget.dataset.url))
$('call-api').addEventListener('click', () => callApi().catch((err) => { $('api-status').textContent = String(err) }))

loadUser().catch((err) => {
  $('status').textContent = `Could not reach the broker: ${err}`
})
