import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { UserError } from '../errors.js';

/**
 * Downloads a COPY source URL into `dir`, named after the last segment of the URL path (query
 * string dropped). TLS is verified; redirects are followed up to 5 times.
 */
export async function fetchUrl(url: string, dir: string, signal?: AbortSignal): Promise<string> {
  const parsed = new URL(url);
  const name = decodeURIComponent(path.posix.basename(parsed.pathname)) || 'index.html';
  if (name === '..' || name.includes('/')) throw new UserError(`COPY source ${url} has no usable file name`);
  const { request } = await import('undici');
  let current = parsed;
  for (let hop = 0; hop < 6; hop++) {
    const res = await request(current, { method: 'GET', ...(signal ? { signal } : {}) }).catch((err: unknown) => {
      throw new UserError(`downloading ${redact(current)}: ${err instanceof Error ? err.message : String(err)}`);
    });
    if (res.statusCode >= 300 && res.statusCode < 400 && res.headers.location) {
      res.body.resume();
      current = new URL(String(res.headers.location), current);
      continue;
    }
    if (res.statusCode !== 200) {
      res.body.resume();
      throw new UserError(`downloading ${redact(current)}: HTTP ${res.statusCode}`);
    }
    const file = path.join(dir, name);
    await pipeline(res.body, createWriteStream(file));
    return file;
  }
  throw new UserError(`downloading ${redact(parsed)}: too many redirects`);
}

function redact(u: URL): string {
  const c = new URL(u);
  if (c.password) c.password = '***';
  c.search = '';
  return c.toString();
}
