import type { NextFunction, RequestHandler, Response } from 'express'
import { realpath, stat } from 'node:fs/promises'
import { extname, join, relative, sep } from 'node:path'
import { notFound } from '../errors.js'
import { wantsHtml } from '../http/errors.js'
import { assertSafePath, splitRawTarget } from '../proxy/path.js'
import { cacheControlFor } from './cache-policy.js'

export interface StaticFilesOptions {
  /** absolute path of the built app */
  directory: string
  contentSecurityPolicy: string
  /** paths the broker keeps for itself (basePath, /healthz …): never a file, never index.html */
  ownsPath(path: string): boolean
}

/**
 * Serves a built SPA: its files, and `index.html` for any other navigation (the app's client-side routes, as
 * connect-history-api-fallback does it: a path whose last segment has a dot is a file, so a missing one is a 404).
 * Nothing outside the directory is ever read: hostile paths are refused as for the API routes, hidden files are
 * not served, and a symlink counts by where it points. Files stream through express's `res.sendFile` (ETag,
 * Last-Modified, 304, HEAD, ranges and Content-Type from the extension).
 */
export function createStaticFiles(opts: StaticFilesOptions): RequestHandler {
  return (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next()
    const { path } = splitRawTarget(req.originalUrl)
    if (opts.ownsPath(path)) return next()
    // a 400 for `..`, encoded `/` `\` `.` and the rest of invariant 13's list, whatever the directory holds
    assertSafePath(path)
    const segments = path.split('/').slice(1).map((segment) => decodeURIComponent(segment))
    if (segments.some((segment) => segment.startsWith('.'))) return next()
    const last = segments.at(-1) ?? ''
    void (async () => {
      const root = await realpath(opts.directory)
      const file = await findFile(root, segments)
      if (file !== undefined) return send(res, next, root, file)
      if (extname(last) !== '' || !wantsHtml(req)) return next()
      const index = await findFile(root, ['index.html'])
      return index === undefined ? next() : send(res, next, root, index)
    })().catch(next)
  }

  function send(res: Response, next: NextFunction, root: string, file: string) {
    const headers = {
      'Cache-Control': cacheControlFor(relative(root, file).split(sep).join('/')),
      'Content-Security-Policy': opts.contentSecurityPolicy,
    }
    // the file was found a moment ago: a failure now is a race with a deployment (404) or a gone client (nothing)
    res.sendFile(file, { dotfiles: 'allow', cacheControl: false, headers }, (err?: NodeJS.ErrnoException) => {
      if (err === undefined || res.headersSent) return
      next(err.code === 'ENOENT' || err.code === 'EISDIR' ? notFound() : err)
    })
  }
}

/** The real path of a regular file under `root` (a directory's own index.html), or undefined. */
async function findFile(root: string, segments: readonly string[]): Promise<string | undefined> {
  const real = await realFileUnder(root, join(root, ...segments))
  if (real === undefined || real.kind === 'file') return real?.path
  const nested = await realFileUnder(root, join(real.path, 'index.html'))
  return nested?.kind === 'file' ? nested.path : undefined
}

async function realFileUnder(root: string, candidate: string) {
  let real: string
  try {
    real = await realpath(candidate)
  } catch {
    return undefined
  }
  // a symlink that leads out of the directory is as good as missing
  if (real !== root && !real.startsWith(root + sep)) return undefined
  const stats = await stat(real)
  if (stats.isFile()) return { kind: 'file' as const, path: real }
  return stats.isDirectory() ? { kind: 'directory' as const, path: real } : undefined
}
