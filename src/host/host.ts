import type { Readable } from 'node:stream';
import type { TreeManifest } from './manifest.js';
import type { CompressionMode, StreamCompression } from './stream-codec.js';

/**
 * A command: an argv (each element passed as one word, quoted for the remote shell) or a shell
 * string run by `sh -c` (locally) or the login shell (over SSH).
 */
export type Command = readonly string[] | string;

/** Options for {@link Host.exec}. */
export interface ExecOptions {
  /** Exported to the command (values are quoted; never shown in errors or logs). */
  readonly env?: Readonly<Record<string, string>>;
  /** Working directory on the host. */
  readonly cwd?: string;
  /** Bytes fed to the command's stdin; it is closed afterwards (an empty stdin when absent). */
  readonly stdin?: Readable | Uint8Array | string;
  /** Aborting kills the command and rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Sees output as it arrives (for streaming logs); output is still collected. */
  readonly onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
  /** False: stdout only goes to `onOutput` (a stream too big to hold), the result's stdout is empty. */
  readonly keepStdout?: boolean;
  /** When true a non-zero exit is returned in `code` instead of thrown. */
  readonly allowFailure?: boolean;
}

/** What a command printed and how it ended. */
export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Like {@link ExecResult}, with stdout as bytes. */
export interface RawExecResult {
  readonly code: number;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** Options for {@link Host.uploadTree}. */
export interface UploadTreeOptions {
  /** Where the checksum manifest of the delivered tree is kept on the host (default `<remoteDir>.sealer-manifest`). */
  readonly manifestPath?: string;
  /** Remove entries under remoteDir that the local tree does not have (default false). */
  readonly prune?: boolean;
  /** gzip level 0–9 when gzip is used (default 1: the link, not the CPU, should be the bottleneck). */
  readonly gzipLevel?: number;
  /**
   * How the stream of compressible files is compressed (default `auto`: by its size and the rate
   * the link carries the first uncompressed bytes). Files that are compressed already are always sent as they are.
   */
  readonly compression?: CompressionMode;
  /** A manifest already computed with `buildManifest(localDir)` (saves hashing once per host). */
  readonly manifest?: TreeManifest;
  readonly signal?: AbortSignal;
  /** Bytes of the (uncompressed) tree sent so far. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** What an upload did. */
export interface UploadTreeResult {
  /** Entries in the local tree. */
  readonly entries: number;
  /** Entries sent (new or different on the host). */
  readonly sent: number;
  /** Bytes of file content sent (uncompressed). */
  readonly bytes: number;
  /** Bytes on the wire: every stream sent to the host (tar headers included, after compression). */
  readonly wireBytes: number;
  /** Of `bytes`, file content sent as it is (compressed already, or the compression was `none`). */
  readonly storedBytes: number;
  /** Of `bytes`, file content put through the compressor. */
  readonly packedBytes: number;
  /** The compression of the compressible stream (`none` when there was none). */
  readonly compression: StreamCompression;
  /** Entries removed on the host (`prune`, or an entry whose type changed). */
  readonly removed: number;
}

/**
 * A machine that commands run on and files go to: the local machine or an SSH server. Build and
 * deploy code is written against this and does not know which one it has.
 */
export interface Host {
  /** `local`, or `user@address:port`. */
  readonly name: string;
  /** Runs a command; a non-zero exit throws `CommandFailedError` unless `allowFailure`. */
  exec(command: Command, opts?: ExecOptions): Promise<ExecResult>;
  /**
   * Optional: like exec with a large stdin stream, on a connection of its own in a worker thread
   * (encryption off the main thread). Used for bulk transfers where the host has it.
   */
  execBulk?(command: Command, stdin: Readable, opts?: { signal?: AbortSignal }): Promise<ExecResult>;
  /** Like exec, with stdout as bytes. */
  execRaw(command: Command, opts?: ExecOptions): Promise<RawExecResult>;
  /** Copies one local file (its mode kept), verified by sha256, replaced atomically. */
  upload(localPath: string, remotePath: string, opts?: { signal?: AbortSignal }): Promise<void>;
  /**
   * Delivers a directory tree (files, directories, symlinks as they are, empty files, modes,
   * mtimes) as tar streams (compressed files as they are, the rest compressed when it pays),
   * verified end to end; entries the host already has (per the
   * manifest kept there and a live listing) are not sent again.
   */
  uploadTree(localDir: string, remoteDir: string, opts?: UploadTreeOptions): Promise<UploadTreeResult>;
  /** The bytes of a file on the host. */
  readFile(remotePath: string, opts?: { signal?: AbortSignal }): Promise<Buffer>;
  /** Writes a file atomically (temp file and rename), creating parent directories. */
  writeFile(remotePath: string, data: Uint8Array | string, opts?: { mode?: number; signal?: AbortSignal }): Promise<void>;
  /** Releases the connection; further calls fail. Idempotent. */
  close(): Promise<void>;
}
