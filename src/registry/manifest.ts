/**
 * Manifest parsing for the registry client: the one parser and successors function of
 * src/image/successors.ts, lenient where registries are (older lists omit a child's mediaType).
 */
export { InvalidManifestError } from '../image/manifest-check.js';
export { type ParsedManifest, parseNode as parseManifest } from '../image/successors.js';
