/**
 * An OCI image layout inside a tar file as the source end of {@link copyGraph}: a blob is read
 * at its offset in the tar (`blobs/sha256/<hex>`), so the archive is never unpacked and each
 * blob is read once, in whatever order the copier asks.
 */
import type { Readable } from 'node:stream';
import type { GraphSource } from './copy-graph.js';
import { type Digest, digestHex } from './digest.js';
import type { TarEntry, TarIndex } from './tar-index.js';

/** The tar path of a blob in an OCI layout. */
export function layoutBlobPath(d: Digest): string {
  return `blobs/sha256/${digestHex(d)}`;
}

/** An OCI layout in a tar, read by positional reads: `blob(d)` finds a blob's entry, `fetch` streams it. */
export interface ArchiveSource extends GraphSource {
  /** The file entry holding blob `d` (links inside the archive followed), or undefined. */
  blob(d: Digest): TarEntry | undefined;
}

/**
 * Serves the blobs of the OCI layout in `tar`. A blob the archive lacks fails the fetch with
 * `missing(d)` (the caller's error). The stream is not hashed here: the copier checks size and
 * digest before the end.
 */
export function archiveSource(tar: TarIndex, missing: (d: Digest) => Error): ArchiveSource {
  const blob = (d: Digest): TarEntry | undefined => tar.resolve(layoutBlobPath(d));
  return {
    blob,
    fetch: async (desc): Promise<Readable> => {
      const e = blob(desc.digest);
      if (e === undefined) throw missing(desc.digest);
      return tar.openEntry(e);
    },
  };
}
