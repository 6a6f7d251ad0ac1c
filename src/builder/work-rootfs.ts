import { lstat, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { resolveInRoot } from '../confined-path.js';
import type { LayoutStore } from '../image/layout-store.js';
import type { Descriptor } from '../image/types.js';
import { decompressor } from '../rootfs/compression.js';
import { applyLayer } from '../rootfs/extract.js';

/**
 * The rootfs a build works on, made only when a step needs real files (a RUN): a COPY-only build
 * never unpacks its base. Once made, every new layer is applied to it as it is written.
 */
export class WorkRootfs {
  private made = false;
  private readonly dir: string;
  constructor(
    private readonly store: LayoutStore,
    workDir: string,
    private readonly layers: () => readonly Descriptor[],
  ) {
    this.dir = path.join(workDir, 'rootfs');
  }

  /** The unpacked rootfs, unpacking every layer so far on first use. */
  async path(): Promise<string> {
    if (!this.made) {
      await mkdir(this.dir, { recursive: true });
      for (const layer of this.layers()) await this.applyBlob(layer);
      this.made = true;
    }
    return this.dir;
  }

  /** Applies a new layer to the rootfs if it has been unpacked (later unpacking includes it anyway). */
  async applyIfMade(layer: Descriptor): Promise<void> {
    if (this.made) await this.applyBlob(layer);
  }

  /** True when `rel` is a directory in the rootfs so far, without unpacking it. */
  async isDir(rel: string): Promise<boolean> {
    if (rel === '') return true;
    if (this.made) return (await lstat(await resolveInRoot(this.dir, rel, { followLast: false })).catch(() => undefined))?.isDirectory() ?? false;
    let found = false;
    for (const layer of this.layers()) {
      const kind = await lastKindInLayer(await this.store.openBlob(layer.digest), layer.mediaType, rel);
      if (kind !== undefined) found = kind === 'dir';
    }
    return found;
  }

  private async applyBlob(layer: Descriptor): Promise<void> {
    await applyLayer(this.dir, await this.store.openBlob(layer.digest), layer.mediaType);
  }
}

/** What a layer says about `rel`: a directory, something else, or nothing. Streams the headers only. */
async function lastKindInLayer(blob: Readable, mediaType: string, rel: string): Promise<'dir' | 'other' | undefined> {
  let kind: 'dir' | 'other' | undefined;
  const { extract } = await import('tar-stream'); // loaded when a layer is first read
  const ex = extract();
  ex.on('entry', (h, stream, next) => {
    const name = h.name.replace(/^\.?\//, '').replace(/\/+$/, '');
    if (name === rel) kind = h.type === 'directory' ? 'dir' : 'other';
    else if (rel.startsWith(`${name}/`) && h.type !== 'directory') kind = undefined;
    else if (name.startsWith(`${rel}/`)) kind ??= 'dir';
    stream.on('end', () => next());
    stream.resume();
  });
  await pipeline(blob, decompressor(mediaType), ex as unknown as NodeJS.WritableStream);
  return kind;
}
