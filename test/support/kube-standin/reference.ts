/** An image reference split and normalised as containerd does (`nginx` → `docker.io/library/nginx:latest`). */
export interface ImageRef {
  /** Registry host[:port]; `docker.io` for short names. */
  readonly domain: string;
  /** Repository path inside the registry (`library/nginx`). */
  readonly path: string;
  readonly tag?: string;
  readonly digest?: string;
  /** `domain/path`, the repository part of an imageID. */
  readonly repository: string;
  /** `domain/path:tag`, `domain/path@digest` or both: what containerStatuses[].image shows. */
  readonly normalized: string;
}

/** Parses an image reference; throws on one that cannot be a reference. */
export function parseReference(ref: string): ImageRef {
  if (!/^[a-zA-Z0-9]/.test(ref) || /\s/.test(ref)) throw new Error(`invalid image reference "${ref}"`);
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`invalid digest in image reference "${ref}"`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const slash = rest.indexOf('/');
  const first = slash < 0 ? '' : rest.slice(0, slash);
  let domain = 'docker.io';
  let path = rest;
  if (first !== '' && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    domain = first;
    path = rest.slice(slash + 1);
  }
  if (domain === 'docker.io' && !path.includes('/')) path = `library/${path}`;
  if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(path)) {
    throw new Error(`invalid repository name in image reference "${ref}"`);
  }
  if (tag === undefined && digest === undefined) tag = 'latest';
  const repository = `${domain}/${path}`;
  const normalized = `${repository}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`;
  return { domain, path, repository, normalized, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}
