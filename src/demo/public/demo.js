// The few lines of fetch code a SPA behind the broker needs: send X-CSRF: 1 (the broker refuses cookie-authenticated
// calls without it, which a cross-site page cannot add without a CORS preflight the broker never grants), treat 401
// as "log in", and log out by navigating to the logoutUrl the broker hands out.

const $ = (id) => document.getElementById(id)

async function call(path) {
  const res = await fetch(path, { headers: { 'X-CSRF': '1', Accept: 'application/json' } })
  return { status: res.status, text: await res.text() }
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
  const { status, text } = await call('/api/demo/orders')
  if (status === 401) return loggedOut('Your session has ended; log in again.')
  $('api-status').textContent = `HTTP ${status}`
  const body = parse(text)
  $('api-answer').textContent = body ? JSON.stringify(body, null, 2) : text
  showVisible()
}

function loggedOut(message) {
  show('logged-out')
  $('status').textContent = message
  showVisible()
}

async function loadUser() {
  const { status, text } = await call('/bff/user')
  lastUserAnswer = `HTTP ${status}\n${text}`
  if (status === 401) return loggedOut('You are not logged in.')
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
