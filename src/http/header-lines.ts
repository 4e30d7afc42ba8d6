import type { IncomingMessage } from 'node:http'

/**
 * Every value of one request header, one per header line as sent. Node joins some repeated headers with ", " and
 * keeps only the first of others (Authorization among them); a credential header sent twice must be refused, not
 * guessed at. Reads `rawHeaders` for just this name: `req.headersDistinct` would build arrays for every header of
 * the request, on the hot path. `lowerName` is the header's name in lower case.
 */
export function headerLines(req: IncomingMessage, lowerName: string): string[] {
  const lines: string[] = []
  const raw = req.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string
    if (isName(name, lowerName)) lines.push(raw[i + 1] as string)
  }
  return lines
}

/** How many lines of one request header were sent (headerLines(…).length, without building the list). */
export function headerLineCount(req: IncomingMessage, lowerName: string): number {
  let count = 0
  const raw = req.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) if (isName(raw[i] as string, lowerName)) count++
  return count
}

// a name sent in lower case (HTTP/2, most clients) needs no lower-cased copy
const isName = (name: string, lowerName: string) =>
  name === lowerName || (name.length === lowerName.length && name.toLowerCase() === lowerName)
