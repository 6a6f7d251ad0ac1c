import { UserError } from '../errors.js';
import { goString, goStringMap, goStrings, goStruct } from './go-json.js';

/**
 * sealer v0.9+'s image format: plain OCI images whose sealer data rides in two manifest
 * annotations, written here exactly as sealer v0.11 writes them and read back as hostile input.
 * The shapes follow the Go structs of sealerio/sealer `pkg/define/image/v1/sealer_image.go`
 * (ImageExtension, BuildClient, Launch, ContainerImage), `pkg/define/application/v1/application.go`
 * (Application) and `types/api/v1/image_types.go` (Platform); field names, order and omitempty are
 * theirs. TypeScript names are camelCase; the JSON names are sealer's (`app_names`, `os_version`).
 * Pure: no I/O.
 */

/** The annotation holding the JSON {@link SealerImageExtension}. */
export const SEALER_IMAGE_EXTENSION = 'sealer.image.extension';
/** The annotation holding the JSON list of {@link SealerContainerImage}; absent when empty. */
export const SEALER_CONTAINER_IMAGES = 'sealer.image.container.images';
/** The only schema version sealer has written (`ImageSpecSchemaVersionV1Beta1`). */
export const SEALER_SCHEMA_VERSION = 'v1alpha1';
/** The `version` sealer gives every application it builds. */
export const SEALER_APP_VERSION = 'v1';

/** `kube-installer` installs a cluster (the default); `app-installer` runs onto an existing one. */
export type SealerImageType = 'kube-installer' | 'app-installer';
/** The app types sealer launches without commands of their own. */
export type SealerAppType = 'helm' | 'kube' | 'shell';

export interface SealerBuildClient {
  readonly sealerVersion: string;
  readonly buildahVersion: string;
}

/** One APP of the image (sealer's `v1.Application`). Empty fields are left out, as Go does. */
export interface SealerApplication {
  readonly name: string;
  /** Undefined when the app is launched by its `cmds` only. */
  readonly type?: SealerAppType;
  /** Files relative to the app directory: kube manifests or scripts, in launch order; helm: the app name. */
  readonly files?: readonly string[];
  /** `v1` for every app sealer builds. */
  readonly version?: string;
  /** APPENV: variables for this app only. */
  readonly env?: Readonly<Record<string, string>>;
  /** APPCMDS: commands that replace the type's default launch. */
  readonly cmds?: readonly string[];
}

/** What `run` launches: raw commands (CMDS, CMD), or apps by name (LAUNCH). */
export interface SealerLaunch {
  readonly cmds?: readonly string[];
  /** JSON `app_names`. */
  readonly appNames?: readonly string[];
}

/** The `sealer.image.extension` annotation. */
export interface SealerImageExtension {
  readonly buildClient: SealerBuildClient;
  readonly schemaVersion: string;
  /** Undefined in images whose builder left it empty; treat as kube-installer. */
  readonly type?: SealerImageType;
  readonly applications?: readonly SealerApplication[];
  /** sealer v0.11's build leaves this out (its inspect fills it from the config labels). */
  readonly labels?: Readonly<Record<string, string>>;
  /** Global ENV of the Kubefile. */
  readonly env?: Readonly<Record<string, string>>;
  readonly launch: SealerLaunch;
}

/** sealer's `v1.Platform`; JSON `os_version`. */
export interface SealerPlatform {
  readonly architecture?: string;
  readonly os?: string;
  readonly osVersion?: string;
  readonly variant?: string;
}

/** One container image the sealer image carries, and the app it belongs to, if any. */
export interface SealerContainerImage {
  readonly image: string;
  readonly appName?: string;
  /** Undefined when absent (images from before sealer recorded it); written as `null` then, as Go does. */
  readonly platform?: SealerPlatform;
}

// --- writing --------------------------------------------------------------------------------

const nonEmpty = <T>(list: readonly T[] | undefined): list is readonly T[] => list !== undefined && list.length > 0;
const nonEmptyMap = (m: Readonly<Record<string, string>> | undefined): m is Readonly<Record<string, string>> =>
  m !== undefined && Object.keys(m).length > 0;
const optString = (s: string | undefined): string | undefined => (s ? goString(s) : undefined);

/** The extension as the JSON text sealer v0.11 writes (Go's json.Marshal of `ImageExtension`). */
export function encodeSealerExtension(ext: SealerImageExtension): string {
  return goStruct([
    ['buildClient', goStruct([
      ['sealerVersion', goString(ext.buildClient.sealerVersion)],
      ['buildahVersion', goString(ext.buildClient.buildahVersion)],
    ])],
    ['schemaVersion', goString(ext.schemaVersion)],
    ['type', optString(ext.type)],
    ['applications', nonEmpty(ext.applications) ? `[${ext.applications.map(encodeApplication).join(',')}]` : undefined],
    ['labels', nonEmptyMap(ext.labels) ? goStringMap(ext.labels) : undefined],
    ['env', nonEmptyMap(ext.env) ? goStringMap(ext.env) : undefined],
    // Launch is a struct, not a pointer: omitempty never drops it, so `"launch":{}` is written.
    ['launch', goStruct([
      ['cmds', nonEmpty(ext.launch.cmds) ? goStrings(ext.launch.cmds) : undefined],
      ['app_names', nonEmpty(ext.launch.appNames) ? goStrings(ext.launch.appNames) : undefined],
    ])],
  ]);
}

function encodeApplication(app: SealerApplication): string {
  return goStruct([
    ['name', goString(app.name)],
    ['type', optString(app.type)],
    ['files', nonEmpty(app.files) ? goStrings(app.files) : undefined],
    ['version', optString(app.version)],
    ['env', nonEmptyMap(app.env) ? goStringMap(app.env) : undefined],
    ['cmds', nonEmpty(app.cmds) ? goStrings(app.cmds) : undefined],
  ]);
}

/** The container image list as sealer v0.11 writes it (Go's json.Marshal of `[]*ContainerImage`). */
export function encodeSealerContainerImages(images: readonly SealerContainerImage[]): string {
  const one = (c: SealerContainerImage): string =>
    goStruct([
      ['image', goString(c.image)],
      ['appName', optString(c.appName)],
      [
        'platform',
        c.platform === undefined
          ? 'null'
          : goStruct([
              ['architecture', optString(c.platform.architecture)],
              ['os', optString(c.platform.os)],
              ['os_version', optString(c.platform.osVersion)],
              ['variant', optString(c.platform.variant)],
            ]),
      ],
    ]);
  return `[${images.map(one).join(',')}]`;
}

/**
 * The annotations for a manifest: the extension always; the container image list only when it
 * is not empty, as sealer writes it.
 */
export function sealerAnnotations(ext: SealerImageExtension, images: readonly SealerContainerImage[]): Record<string, string> {
  return {
    [SEALER_IMAGE_EXTENSION]: encodeSealerExtension(ext),
    ...(images.length > 0 ? { [SEALER_CONTAINER_IMAGES]: encodeSealerContainerImages(images) } : {}),
  };
}

// --- reading --------------------------------------------------------------------------------

/** Larger annotations are refused before parsing: a real extension is a few KiB. */
export const MAX_EXTENSION_CHARS = 1024 * 1024;
/** About 50,000 images; a real list is well under 1 MiB. */
export const MAX_CONTAINER_IMAGES_CHARS = 8 * 1024 * 1024;

/** An app name: one path segment, also a Helm release name and an entry of `--apps a,b`. */
const APP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const APP_TYPES: readonly string[] = ['helm', 'kube', 'shell'];
const IMAGE_TYPES: readonly string[] = ['kube-installer', 'app-installer'];

/** A problem in an annotation, located by a JSON path (`applications[1].files[0]`). */
class ShapeError extends Error {}

/** The two annotations of a manifest, read; `extension` is undefined when the image has none. */
export interface SealerAnnotations {
  readonly extension: SealerImageExtension | undefined;
  readonly containerImages: readonly SealerContainerImage[];
}

/**
 * Reads both annotations from a manifest's annotations. A missing or empty extension means the
 * image is not a sealer v0.9+ image; a missing or empty image list means no images, as in sealer.
 * Throws a {@link UserError} naming the annotation and the bad field.
 */
export function readSealerAnnotations(annotations: Readonly<Record<string, string>> | undefined): SealerAnnotations {
  const ext = annotations?.[SEALER_IMAGE_EXTENSION];
  const images = annotations?.[SEALER_CONTAINER_IMAGES];
  return {
    extension: ext ? parseSealerExtension(ext) : undefined,
    containerImages: images ? parseSealerContainerImages(images) : [],
  };
}

/** Parses and validates a `sealer.image.extension` value. Throws a {@link UserError}. */
export function parseSealerExtension(text: string): SealerImageExtension {
  return parseAnnotation(SEALER_IMAGE_EXTENSION, text, MAX_EXTENSION_CHARS, toExtension);
}

/** Parses and validates a `sealer.image.container.images` value. Throws a {@link UserError}. */
export function parseSealerContainerImages(text: string): SealerContainerImage[] {
  return parseAnnotation(SEALER_CONTAINER_IMAGES, text, MAX_CONTAINER_IMAGES_CHARS, (v) =>
    array(v, '', (item, at) => toContainerImage(item, at)),
  );
}

function parseAnnotation<T>(name: string, text: string, max: number, convert: (value: unknown) => T): T {
  const fail = (reason: string): never => {
    throw new UserError(`image annotation ${name}: ${reason}`);
  };
  if (text.length > max) fail(`${text.length} characters, more than the ${max} allowed`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // Deep nesting overflows the parser's stack: a RangeError, reported the same way.
    fail(`not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  try {
    return convert(value);
  } catch (err) {
    if (err instanceof ShapeError) return fail(err.message);
    throw err;
  }
}

function toExtension(v: unknown): SealerImageExtension {
  const o = object(v, '');
  // sealer v0.9.0 wrote neither buildClient nor schemaVersion; Go reads them as empty strings.
  const bc = optional(o.buildClient, (x) => object(x, 'buildClient'));
  const type = optional(o.type, (x) => oneOf(x, 'type', IMAGE_TYPES)) as SealerImageType | undefined;
  const applications = optional(o.applications, (x) => array(x, 'applications', toApplication)) ?? [];
  const names = new Set<string>();
  applications.forEach((app, i) => {
    if (names.has(app.name)) throw new ShapeError(`applications[${i}].name: ${JSON.stringify(app.name)} appears twice`);
    names.add(app.name);
  });
  const launchObj = optional(o.launch, (x) => object(x, 'launch')) ?? {};
  const appNames = optional(launchObj.app_names, (x) => strings(x, 'launch.app_names')) ?? [];
  appNames.forEach((n, i) => {
    if (!names.has(n)) throw new ShapeError(`launch.app_names[${i}]: ${JSON.stringify(n)} is not one of the applications`);
  });
  const cmds = optional(launchObj.cmds, (x) => strings(x, 'launch.cmds')) ?? [];
  const labels = optional(o.labels, (x) => stringMap(x, 'labels', false));
  const env = optional(o.env, (x) => stringMap(x, 'env', true));
  return {
    buildClient: {
      sealerVersion: optional(bc?.sealerVersion, (x) => string(x, 'buildClient.sealerVersion')) ?? '',
      buildahVersion: optional(bc?.buildahVersion, (x) => string(x, 'buildClient.buildahVersion')) ?? '',
    },
    schemaVersion: optional(o.schemaVersion, (x) => string(x, 'schemaVersion')) ?? '',
    ...(type ? { type } : {}),
    ...(applications.length > 0 ? { applications } : {}),
    ...(labels && Object.keys(labels).length > 0 ? { labels } : {}),
    ...(env && Object.keys(env).length > 0 ? { env } : {}),
    launch: { ...(cmds.length > 0 ? { cmds } : {}), ...(appNames.length > 0 ? { appNames } : {}) },
  };
}

function toApplication(v: unknown, at: string): SealerApplication {
  const o = object(v, at);
  const name = string(o.name, `${at}.name`);
  if (!APP_NAME.test(name)) {
    throw new ShapeError(`${at}.name: ${show(name)} is not an app name (letters, digits, '.', '_', '-'; at most 63)`);
  }
  const type = optional(o.type, (x) => oneOf(x, `${at}.type`, APP_TYPES)) as SealerAppType | undefined;
  const files = optional(o.files, (x) => strings(x, `${at}.files`)) ?? [];
  files.forEach((f, i) => {
    if (f === '' || f.startsWith('/') || f.split('/').includes('..') || f.includes('\0')) {
      throw new ShapeError(`${at}.files[${i}]: ${show(f)} is not a relative path inside the app directory`);
    }
  });
  const version = optional(o.version, (x) => string(x, `${at}.version`));
  const env = optional(o.env, (x) => stringMap(x, `${at}.env`, true));
  const cmds = optional(o.cmds, (x) => strings(x, `${at}.cmds`)) ?? [];
  return {
    name,
    ...(type ? { type } : {}),
    ...(files.length > 0 ? { files } : {}),
    ...(version ? { version } : {}),
    ...(env && Object.keys(env).length > 0 ? { env } : {}),
    ...(cmds.length > 0 ? { cmds } : {}),
  };
}

function toContainerImage(v: unknown, at: string): SealerContainerImage {
  const o = object(v, at);
  const image = string(o.image, `${at}.image`);
  if (image === '' || /[\s\0]/.test(image)) throw new ShapeError(`${at}.image: ${show(image)} is not an image reference`);
  const appName = optional(o.appName, (x) => string(x, `${at}.appName`));
  if (appName && !APP_NAME.test(appName)) throw new ShapeError(`${at}.appName: ${show(appName)} is not an app name`);
  const p = optional(o.platform, (x) => object(x, `${at}.platform`));
  const field = (key: string): string | undefined => optional(p?.[key], (x) => string(x, `${at}.platform.${key}`)) || undefined;
  const platform: SealerPlatform | undefined =
    p === undefined
      ? undefined
      : {
          ...ifSet('architecture', field('architecture')),
          ...ifSet('os', field('os')),
          ...ifSet('osVersion', field('os_version')),
          ...ifSet('variant', field('variant')),
        };
  return { image, ...(appName ? { appName } : {}), ...(platform ? { platform } : {}) };
}

// --- shape checks ---------------------------------------------------------------------------

function ifSet<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}

/** Go reads JSON null (and a missing field) as the zero value: both are "absent" here. */
function optional<T>(v: unknown, read: (v: unknown) => T): T | undefined {
  return v === undefined || v === null ? undefined : read(v);
}

function object(v: unknown, at: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ShapeError(`${at || 'the value'}: expected an object`);
  return v as Record<string, unknown>;
}

function string(v: unknown, at: string): string {
  if (typeof v !== 'string') throw new ShapeError(`${at}: expected a string`);
  return v;
}

function oneOf(v: unknown, at: string, allowed: readonly string[]): string | undefined {
  const s = string(v, at);
  if (s === '') return undefined;
  if (!allowed.includes(s)) throw new ShapeError(`${at}: ${show(s)} is not one of ${allowed.join(', ')}`);
  return s;
}

function array<T>(v: unknown, at: string, item: (v: unknown, at: string) => T): T[] {
  if (!Array.isArray(v)) throw new ShapeError(`${at || 'the value'}: expected an array`);
  return v.map((x, i) => item(x, `${at}[${i}]`));
}

function strings(v: unknown, at: string): string[] {
  return array(v, at, string);
}

/** A `map[string]string`; `variables` demands shell variable names as keys (they are exported). */
function stringMap(v: unknown, at: string, variables: boolean): Record<string, string> {
  const o = object(v, at);
  const entries = Object.entries(o).map(([k, x]): [string, string] => {
    if (variables ? !VARIABLE_NAME.test(k) : k === '') throw new ShapeError(`${at}: ${show(k)} is not a valid ${variables ? 'variable name' : 'key'}`);
    return [k, string(x, `${at}.${k}`)];
  });
  // fromEntries defines own properties, so a "__proto__" key stays a plain key.
  return Object.fromEntries(entries);
}

function show(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 60)}...` : s);
}
