import type { Digest } from '../image/digest.js';
import type { Descriptor } from '../image/types.js';

/**
 * What a filesystem step (COPY, RUN, COLLECT) produced. The executor alone turns it into image
 * state: a layer (or an empty history entry when `layer` is null) created at `created`.
 */
export interface StepResult {
  readonly layer: { readonly descriptor: Descriptor; readonly diffId: Digest } | null;
  readonly created: string;
  /** The result came from the step cache. */
  readonly cached: boolean;
  /** The cache key of this step, the parent key of the next. */
  readonly key?: string;
  readonly note?: string;
}
