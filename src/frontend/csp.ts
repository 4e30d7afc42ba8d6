// The default Content-Security-Policy of the app's pages (CSP Level 3). The broker's own answers keep their
// `default-src 'none'` (http/security-headers.ts); the SPA's pages need to load their code and call the broker.
//
// What a production build of a Vite (or similar) SPA needs, and nothing more:
// - script-src 'self': the build emits only external module scripts, no inline script and no eval, so an injected
//   `<script>` or `onclick=` does not run (the main XSS defence, which matters doubly since the session is all an
//   attacker's script could use);
// - style-src 'self': the CSS is in files (React's `style={…}` props go through the CSSOM, which CSP allows);
// - img-src and font-src also data: — assets under 4 KiB are inlined as data: URLs (Vite's build.assetsInlineLimit);
// - connect-src 'self': fetch and WebSocket only to this origin, which is the point of a BFF: APIs are behind it;
// - object-src 'none', base-uri 'none' (no <base> hijacking of relative URLs), form-action 'self', and
//   frame-ancestors 'none' (invariant 12, clickjacking).
const productionPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
]

/**
 * The default policy for a built app (`static`), or for a dev server (`target`): a dev server injects inline code
 * (React Fast Refresh's inline module script, Vite's `<style>` elements for hot-reloaded CSS) and its hot-reload
 * WebSocket, named here by its ws: origin because engines older than CSP Level 3 do not let 'self' match ws:.
 */
export function defaultAppPolicy(kind: 'static' | 'target', publicUrl: URL): string {
  if (kind === 'static') return productionPolicy.join('; ')
  const ws = `${publicUrl.protocol === 'https:' ? 'wss:' : 'ws:'}//${publicUrl.host}`
  return productionPolicy
    .map((directive) => {
      if (directive.startsWith('script-src') || directive.startsWith('style-src')) return `${directive} 'unsafe-inline'`
      return directive.startsWith('connect-src') ? `${directive} ${ws}` : directive
    })
    .join('; ')
}
