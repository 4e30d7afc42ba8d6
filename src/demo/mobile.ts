// The demo's mobile app, registered by `npm start` and played by `npm run demo:mobile`. Its redirect URI is a
// loopback http URL (RFC 8252 §7.3): the app catches the redirect itself with a small HTTP server on 127.0.0.1.
// The broker compares redirect URIs exactly, port included, so both sides use this one port.

export const DEMO_MOBILE_CLIENT_ID = 'com.example.demo'
export const DEMO_MOBILE_REDIRECT_PORT = 8765
export const demoMobileRedirectUri = (port = DEMO_MOBILE_REDIRECT_PORT) => `http://127.0.0.1:${port}/callback`
