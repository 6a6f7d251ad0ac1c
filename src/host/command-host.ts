import { readFileVia, uploadFileVia, writeFileVia } from './file-ops.js';
import type { Command, ExecOptions, ExecResult, Host, RawExecResult, UploadTreeOptions, UploadTreeResult } from './host.js';
import { uploadTreeVia } from './tree-upload.js';

/**
 * A host whose file operations are made of its commands: upload, tree delivery, read and write
 * all go through `exec`/`execRaw` (and `execBulk` where the host has it), so the local host and
 * the SSH host differ only in how a command runs.
 */
export abstract class CommandHost implements Host {
  abstract readonly name: string;
  abstract exec(command: Command, opts?: ExecOptions): Promise<ExecResult>;
  abstract execRaw(command: Command, opts?: ExecOptions): Promise<RawExecResult>;
  abstract close(): Promise<void>;

  upload(localPath: string, remotePath: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    return uploadFileVia(this, localPath, remotePath, opts.signal);
  }

  uploadTree(localDir: string, remoteDir: string, opts: UploadTreeOptions = {}): Promise<UploadTreeResult> {
    return uploadTreeVia(this, localDir, remoteDir, opts);
  }

  readFile(remotePath: string, opts: { signal?: AbortSignal } = {}): Promise<Buffer> {
    return readFileVia(this, remotePath, opts.signal);
  }

  writeFile(remotePath: string, data: Uint8Array | string, opts: { mode?: number; signal?: AbortSignal } = {}): Promise<void> {
    return writeFileVia(this, remotePath, data, opts.mode, opts.signal);
  }
}
