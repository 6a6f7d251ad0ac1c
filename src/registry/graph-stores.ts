/**
 * A registry repository as either end of {@link copyGraph}: a source that fetches manifests by
 * digest and verified blob streams, and a target that checks with HEAD and pushes blobs (mount
 * first) and manifests.
 */
import { Readable } from 'node:stream';
import type { FetchOptions, GraphSource, GraphTarget } from '../image/copy-graph.js';
import type { Digest } from '../image/digest.js';
import type { Reference } from '../image/reference.js';
import { isGraphNode } from '../image/successors.js';
import type { Descriptor } from '../image/types.js';
import type { PushBlobResult } from './blob-upload.js';
import type { RegistryClient } from './client.js';

/**
 * Reads `domain/repository`: manifests and indexes by digest, other blobs as verified streams
 * (unhashed, sizes still checked, when asked with `verify: false`: the target hashes them).
 */
export function registrySource(client: RegistryClient, domain: string, repository: string): GraphSource {
  return {
    async fetch(desc: Descriptor, opts: FetchOptions = {}): Promise<Readable> {
      if (!isGraphNode(desc.mediaType)) {
        return client.openBlob(domain, repository, desc, undefined, opts.verify === false ? { verifyDigest: false } : {});
      }
      const m = await client.getManifest({ domain, repository, digest: desc.digest });
      return Readable.from([m.bytes], { objectMode: false });
    },
  };
}

/** Options of {@link registryTarget}. */
export interface RegistryTargetOptions {
  /** The root of the copy goes under `ref.tag` (when set) instead of by digest. */
  readonly root?: Digest;
  /** Other repositories of the registry that may hold the blobs (mount candidates). */
  readonly mountFrom?: readonly string[];
  /** Upload in PATCH chunks of this size instead of one PUT per blob. */
  readonly chunkSize?: number;
  /** Told how each blob went and how many bytes it sent in all. */
  readonly onBlob?: (desc: Descriptor, result: PushBlobResult) => void;
  /** Told each number of bytes sent. */
  readonly onBytes?: (desc: Descriptor, n: number) => void;
}

/**
 * Writes into the repository of `ref`. `exists` is a HEAD (a manifest's, or a blob's); `push`
 * uploads a blob (a mount from a repository the client has seen it in, or `mountFrom`, before
 * an upload, and a temporary failure restarts the upload from a new stream) or puts a manifest
 * by digest, or the root under `ref`'s tag.
 */
export function registryTarget(client: RegistryClient, ref: Reference, opts: RegistryTargetOptions = {}): GraphTarget & { readonly pushed: Map<Digest, Digest> } {
  const { domain, repository } = ref;
  const pushed = new Map<Digest, Digest>();
  return {
    pushed,
    async exists(desc: Descriptor): Promise<boolean> {
      if (isGraphNode(desc.mediaType)) return (await client.headManifest({ domain, repository, digest: desc.digest })) !== undefined;
      return client.hasBlob(domain, repository, desc.digest);
    },
    async push(desc: Descriptor, open: () => Promise<Readable>): Promise<void> {
      if (isGraphNode(desc.mediaType)) {
        const chunks: Buffer[] = [];
        for await (const c of await open()) chunks.push(c as Buffer);
        const to: Reference = desc.digest === opts.root && ref.tag !== undefined ? { domain, repository, tag: ref.tag } : { domain, repository, digest: desc.digest };
        pushed.set(desc.digest, await client.putManifest(to, Buffer.concat(chunks), desc.mediaType));
        return;
      }
      const result = await client.pushBlob(domain, repository, desc, open, {
        ...(opts.mountFrom ? { mountFrom: opts.mountFrom } : {}),
        ...(opts.chunkSize ? { chunkSize: opts.chunkSize } : {}),
        ...(opts.onBytes ? { onBytes: (n: number) => opts.onBytes?.(desc, n) } : {}),
        existsChecked: true,
      });
      opts.onBlob?.(desc, result);
    },
  };
}
