import { UserError } from '../errors.js';
import type { LayoutStore } from '../image/layout-store.js';
import { type LoadedImage, readImage } from '../image/read-image.js';
import { formatReference, parseReference } from '../image/reference.js';
import { convertSealerImage, isSealerImageConfig } from '../image/sealer-v08.js';
import type { Platform } from '../image/types.js';
import type { Reporter } from '../report/events.js';
import type { RegistryClient } from './client.js';

/** When an image is pulled: docker's and buildah's `--pull` policies. */
export type PullPolicy = 'missing' | 'always' | 'never';

/** An image found (or pulled) for one platform, under its full name. */
export interface ResolvedImage {
  readonly name: string;
  readonly image: LoadedImage;
}

/** Finds (pulling when the policy says so) an image for a platform. */
export type ImageResolver = (reference: string, platform: Platform) => Promise<ResolvedImage>;

/**
 * Resolves images (a build's FROM, the image `sealer run` delivers): from the local store,
 * pulling from the registry as the policy says (never: local only; missing: pull when absent;
 * always: pull, then use what was pulled). Images pushed by sealer v0.8 (an Image object as
 * config) are converted to OCI on the way.
 */
export function imageResolver(store: LayoutStore, policy: PullPolicy, client?: () => Promise<RegistryClient>, reporter?: Reporter): ImageResolver {
  return async (reference: string, platform: Platform) => {
    const ref = parseReference(reference);
    const name = formatReference(ref);
    let desc = await store.resolve(name);
    const mustPull = policy === 'always' || (policy === 'missing' && !desc);
    if (mustPull) {
      if (!client) throw new UserError(`base image ${reference} is not in the local store and no registry is configured`);
      reporter?.emit({ type: 'log', level: 'info', text: `pulling base image ${name}` });
      const { pullToStore } = await import('./store-transfer.js');
      desc = (await pullToStore(await client(), ref, store, { platforms: [platform], ...(reporter ? { reporter } : {}) })).descriptor;
    }
    if (!desc) {
      throw new UserError(`base image ${reference} is not in the local store (--pull never); pull it with: sealer pull ${reference}`);
    }
    return { name, image: await usable(store, await readImage(store, desc, platform)) };
  };
}

/** The image as a build or a delivery can use it (sealer v0.8 images converted). */
async function usable(store: LayoutStore, image: LoadedImage): Promise<LoadedImage> {
  return isSealerImageConfig(image.config) ? convertSealerImage(store, image) : image;
}
