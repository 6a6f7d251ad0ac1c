import { createHash, randomBytes, randomUUID } from 'node:crypto';

/** A JSON object as the API carries it. */
export type Json = Record<string, unknown>;

/** Object metadata, the fields the stand-in reads or writes. */
export interface Meta {
  name: string;
  namespace?: string;
  generateName?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  [key: string]: unknown;
}

/** metadata.ownerReferences[] */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** Any stored object. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: Meta;
  spec?: Json;
  status?: Json;
  [key: string]: unknown;
}

/** A container of a pod spec (the fields the fake kubelet uses). */
export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string }[];
  imagePullPolicy?: string;
}

/** The Kubernetes error body (`kind: Status`). */
export function statusBody(code: number, reason: string, message: string, details?: Json): Json {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}

/** An API error: the handler turns it into a Status response. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Json,
  ) {
    super(message);
  }
  body(): Json {
    return statusBody(this.code, this.reason, this.message, this.details);
  }
}

/** `404 NotFound` for `<resource> "<name>" not found`, as kube-apiserver words it. */
export function notFound(resource: string, name: string, group = ''): ApiError {
  const qualified = group ? `${resource}.${group}` : resource;
  return new ApiError(404, 'NotFound', `${qualified} "${name}" not found`, { name, ...(group ? { group } : {}), kind: resource });
}

/** RFC 3339 at second precision, as metav1.Time marshals. */
export function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

/** A fresh object uid. */
export function newUid(): string {
  return randomUUID();
}

// The alphabet Kubernetes uses for generated names (no vowels, no look-alikes).
const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

function encode(bytes: Buffer, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[(bytes[i] ?? 0) % ALPHABET.length];
  return out;
}

/** The 5-character random suffix of generated names. */
export function randomSuffix(): string {
  return encode(randomBytes(5), 5);
}

/** A stable short hash of a value (a pod template's `pod-template-hash`). */
export function shortHash(value: unknown): string {
  return encode(createHash('sha256').update(JSON.stringify(value)).digest(), 10);
}

/** A deep copy of a JSON value. */
export function clone<T>(value: T): T {
  return structuredClone(value);
}

/** True when `v` is a plain JSON object. */
export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
