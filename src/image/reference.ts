import { createRequire } from 'node:module';
import { UserError } from '../errors.js';
import { type Digest, parseDigest } from './digest.js';

/**
 * An image reference normalised the docker way: `nginx` is `docker.io/library/nginx:latest`.
 * A digest-pinned reference keeps its tag too (`name:tag@sha256:...`), because users write both.
 */
export interface Reference {
  /** Registry host, with port when given (`docker.io`, `127.0.0.1:5000`). */
  readonly domain: string;
  /** Repository path without the domain (`library/nginx`). */
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: Digest;
}

/** Thrown for text that is not a valid image reference. */
export class InvalidReferenceError extends UserError {
  override name = 'InvalidReferenceError';
}

/** Parses `text` as an image reference; a missing tag and digest means `latest`. */
export function parseReference(text: string): Reference {
  const trimmed = text.trim();
  if (trimmed === '' || /\s/.test(trimmed)) {
    throw new InvalidReferenceError(`invalid image reference ${JSON.stringify(text)}`);
  }
  let parsed: ReturnType<typeof import('@swimlane/docker-reference').parseFamiliarName>;
  try {
    parsed = dockerReference().parseFamiliarName(trimmed);
  } catch (err) {
    const why = err instanceof Error ? err.message.replace(/^invalid reference format:?\s*/, '') : '';
    throw new InvalidReferenceError(
      `invalid image reference ${JSON.stringify(text)}${why ? `: ${why}` : ''}`,
    );
  }
  const domain = parsed.domain === 'index.docker.io' ? 'docker.io' : (parsed.domain ?? 'docker.io');
  const repository = parsed.repository ?? '';
  const digest = parsed.digest ? parseDigest(parsed.digest) : undefined;
  const tag = parsed.tag ?? (digest ? undefined : 'latest');
  return {
    domain,
    repository,
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest } : {}),
  };
}

/**
 * Checks text used as the name of a stored image (a tag, not a digest: `nginx:1`,
 * `registry.example.com/team/app:v1`) against the reference grammar and returns its full
 * normalised form. Paths, control characters and other junk are refused with an
 * InvalidReferenceError.
 */
export function checkImageName(text: string): string {
  const ref = parseReference(text);
  if (ref.digest !== undefined) throw new InvalidReferenceError(`image name ${JSON.stringify(text)} names a digest, not a tag`);
  return formatReference(ref);
}

/** The full normalised form: `docker.io/library/nginx:1.25`, `host/repo:tag@sha256:...`. */
export function formatReference(ref: Reference): string {
  let s = `${ref.domain}/${ref.repository}`;
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** The short form docker shows: `nginx:1.25` for docker.io/library/nginx:1.25. */
export function familiarReference(ref: Reference): string {
  let name = `${ref.domain}/${ref.repository}`;
  if (ref.domain === 'docker.io') {
    name = ref.repository.startsWith('library/') ? ref.repository.slice(8) : ref.repository;
  }
  if (ref.tag !== undefined) name += `:${ref.tag}`;
  if (ref.digest !== undefined) name += `@${ref.digest}`;
  return name;
}

let dockerReferenceModule: typeof import('@swimlane/docker-reference') | undefined;

/** docker's reference grammar, loaded on the first parse: listing an empty store needs none. */
function dockerReference(): typeof import('@swimlane/docker-reference') {
  dockerReferenceModule ??= createRequire(import.meta.url)('@swimlane/docker-reference') as typeof import('@swimlane/docker-reference');
  return dockerReferenceModule;
}
