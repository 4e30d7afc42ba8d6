import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/**
 * The 559 open-redirect payloads of oauth2-proxy's testdata (testdata/openredirects.txt, MIT), kept in test/fixtures
 * (see its README for the source and licence).
 */
export function openRedirectPayloads(): string[] {
  const path = fileURLToPath(new URL('../fixtures/openredirects.txt', import.meta.url))
  const lines = readFileSync(path, 'utf8').split('\n')
  // the file ends with a newline; its first line is a real payload: the empty string
  if (lines.at(-1) === '') lines.pop()
  return lines
}

/**
 * Targets whose dot-segments, once a WHATWG parser has removed them (RFC 3986 §5.2.4; `%2e` counts as `.`), leave a
 * path starting with `//` or `/\`, which a browser then reads as another host. Plain, percent-encoded and mixed
 * dot-segments, with backslashes, tabs and newlines (browsers drop the latter two, URL spec "basic URL parser").
 */
export function dotSegmentPayloads(): string[] {
  const hosts = ['evil.example', 'evil.example/path?q=1#f', '127.0.0.2:8080', 'evil.example@app.example.com']
  const shapes = [
    '/.//{h}', '/.///{h}', '/././/{h}', '/..//{h}', '/../..//{h}', '/a/..//{h}', '/a/b/../..//{h}', '/./.././/{h}',
    '/%2e//{h}', '/%2E//{h}', '/%2e%2e//{h}', '/%2E%2e//{h}', '/a/%2e%2e//{h}', '/%2e%2e/%2e%2e//{h}',
    '/.%2e//{h}', '/%2e.//{h}', '/a/.%2E//{h}', '/./%2e%2e/.//{h}', '/%2e/.//{h}',
    '/./\\{h}', '/.\\/{h}', '/.\\\\{h}', '/%2e/\\{h}', '/..\\\\{h}', '/\\.//{h}', '/a/..\\/{h}',
    '/.\t//{h}', '/\t.//{h}', '/.\n//{h}', '/.\r\n//{h}', '/%2e\t//{h}', '/.//\t{h}', '/.\t/\\{h}',
    '/.%09//{h}', '/%09.//{h}', '/.%5c/{h}', '/.%5C%5C{h}', '/./%2f{h}', '/.%2f/{h}', '/..;//{h}', '/.;//{h}',
    'https://{h}/.//', '//./{h}', '/.//{h}/..', '/.//{h}/%2e%2e',
  ]
  return shapes.flatMap((shape) => hosts.map((host) => shape.replace('{h}', host)))
}

/** Where a browser ends up: the Location resolved against publicUrl with the WHATWG parser. */
export function landsOn(location: string, publicUrl: string): string {
  return new URL(location, publicUrl).origin
}
