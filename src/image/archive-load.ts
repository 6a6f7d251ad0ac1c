import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';
import { UserError } from '../errors.js';
import { tempName } from './atomic-file.js';
import { type Digest, DigestingStream, parseDigest } from './digest.js';
import type { LayoutStore, StoredImage } from './layout-store.js';
import { isIndexType, isManifestType } from './media-types.js';
import { type Descriptor, type Index, type Manifest, REF_NAME_ANNOTATION } from './types.js';

/** Thrown for an archive that is corrupt, truncated or incomplete. */
export class BadArchiveError extends UserError {
  override name = 'BadArchiveError';
}

/**
 * Loads an OCI layout archive (as `save` writes it) into the store. Every blob is hashed while
 * it is read into a staging dir and must match its name; every blob the images need must be
 * present; only then are blobs moved into the store and the names tagged. A tampered, truncated
 * or incomplete archive is refused and the store is left exactly as it was.
 */
export async function loadArchive(store: LayoutStore, archive: Readable, onProgress?: (bytes: number) => void): Promise<StoredImage[]> {
  const staging = tempName(store.tmpDir(), 'load');
  await mkdir(staging, { recursive: true });
  try {
    const { index, staged } = await stageArchive(archive, staging, onProgress);
    const have = async (d: Digest): Promise<boolean> => staged.has(d) || (await store.hasBlob(d));
    const read = async (d: Digest): Promise<Buffer> => (staged.has(d) ? readFile(path.join(staging, d.slice(7))) : store.readBlob(d));
    const images: StoredImage[] = [];
    for (const desc of index.manifests) {
      await checkComplete(desc, have, read);
      const name = desc.annotations?.[REF_NAME_ANNOTATION];
      if (name) images.push({ name, descriptor: desc });
    }
    if (images.length === 0) throw new BadArchiveError('archive names no image (index.json has no org.opencontainers.image.ref.name)');
    for (const d of staged) await store.adoptFile(path.join(staging, d.slice(7)), d);
    for (const img of images) await store.tag(img.name, img.descriptor);
    return images;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function stageArchive(archive: Readable, staging: string, onProgress?: (bytes: number) => void): Promise<{ index: Index; staged: Set<Digest> }> {
  const staged = new Set<Digest>();
  let indexBytes: Buffer | undefined;
  let total = 0;
  const ex = extract();
  ex.on('entry', (h, source, next) => {
    const body = source as unknown as Readable;
    const name = h.name.replace(/^\.\//, '');
    const blob = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(name);
    const done = (err?: unknown): void => next(err === undefined ? undefined : err instanceof Error ? err : new Error(String(err)));
    if (blob) {
      const expected = parseDigest(`sha256:${blob[1]}`);
      const hasher = new DigestingStream();
      pipeline(body, hasher, createWriteStream(path.join(staging, blob[1]!))).then(() => {
        if (hasher.digest() !== expected) return done(new BadArchiveError(`archive blob ${expected} is corrupt: its content hashes to ${hasher.digest()}`));
        staged.add(expected);
        total += hasher.size();
        onProgress?.(total);
        done();
      }, done);
    } else if (name === 'index.json') {
      const chunks: Buffer[] = [];
      body.on('data', (c: Buffer) => chunks.push(c));
      body.on('end', () => {
        indexBytes = Buffer.concat(chunks);
        done();
      });
      body.on('error', done);
    } else {
      body.on('end', () => done());
      body.resume();
    }
  });
  try {
    await pipeline(archive, ex as unknown as NodeJS.WritableStream);
  } catch (err) {
    if (err instanceof BadArchiveError) throw err;
    throw new BadArchiveError(`reading archive: ${err instanceof Error ? err.message : String(err)} (truncated or not a tar?)`);
  }
  if (!indexBytes) throw new BadArchiveError('archive has no index.json: not an OCI layout archive');
  let index: Index;
  try {
    index = JSON.parse(indexBytes.toString('utf8')) as Index;
  } catch {
    throw new BadArchiveError('archive index.json is not valid JSON');
  }
  if (!Array.isArray(index.manifests)) throw new BadArchiveError('archive index.json has no manifests');
  return { index, staged };
}

/** Fails unless `desc` and everything it references are available. */
async function checkComplete(desc: Descriptor, have: (d: Digest) => Promise<boolean>, read: (d: Digest) => Promise<Buffer>): Promise<void> {
  const digest = parseDigest(desc.digest);
  if (!(await have(digest))) throw new BadArchiveError(`archive is incomplete: blob ${digest} is missing`);
  if (isIndexType(desc.mediaType)) {
    const index = JSON.parse((await read(digest)).toString('utf8')) as Index;
    for (const child of index.manifests) await checkComplete(child, have, read);
  } else if (isManifestType(desc.mediaType)) {
    const m = JSON.parse((await read(digest)).toString('utf8')) as Manifest;
    for (const d of [m.config, ...m.layers]) {
      if (!(await have(parseDigest(d.digest)))) throw new BadArchiveError(`archive is incomplete: blob ${d.digest} is missing`);
    }
  }
}

/** Opens an archive file as a stream, with a clear error when it is absent. */
export async function archiveSize(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    throw new UserError(`archive ${file} does not exist`);
  }
}
