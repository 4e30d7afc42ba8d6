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

/** Where a browser ends up: the Location resolved against publicUrl with the WHATWG parser. */
export function landsOn(location: string, publicUrl: string): string {
  return new URL(location, publicUrl).origin
}
