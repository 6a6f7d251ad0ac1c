/**
 * The OCI distribution client: what other modules import. See README.md for the contract.
 */
export { type AuthedRequest, Authenticator, type CredentialLookup } from './auth.js';
export type { PushBlobOptions, PushBlobResult } from './blob-upload.js';
export { type Challenge, type Scope, parseChallenges } from './challenge.js';
export {
  type FetchedManifest,
  MANIFEST_ACCEPT,
  type PingResult,
  RegistryClient,
  type RegistryClientOptions,
} from './client.js';
export { type CopyImageOptions, type CopyImageResult, copyImage } from './copy.js';
export { type AuthFileOptions, type Credential, authFilePaths, readCredential } from './docker-config.js';
export { type EndpointOptions, isLoopback } from './endpoint.js';
export { RegistryError, type RegistryErrorKind, redactUrl } from './errors.js';
export { type LoginOptions, type LoginResult, login, logout } from './login.js';
export { InvalidManifestError, type ParsedManifest, parseManifest } from './manifest.js';
export {
  InvalidPlatformError,
  formatPlatform,
  hostPlatform,
  normalisePlatform,
  parsePlatform,
  parsePlatforms,
  platformMatches,
  selectManifests,
} from './platform.js';
export { type ImageSource, type PushImageOptions, type PushImageResult, pushImage } from './push-image.js';
export type { TransportOptions } from './transport.js';
